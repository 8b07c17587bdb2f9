/*
 * loop.h — the controller's event loop: timers, fd readability, a
 * before-sleep hook; io_uring (liburing) underneath. Modelled on redis ae.h.
 *
 * One thread, no busy waiting: each iteration submits pending poll requests
 * and waits for one completion or the nearest timer, whichever is first.
 * The monotonic clock is read once per iteration (fl_loop_now); callbacks
 * that need a fresher time read the clock themselves.
 *
 * Ownership: fl_loop_new returns a loop owned by the caller; free with
 * fl_loop__free(), which accepts NULL. Handlers must not free the loop.
 * Timer and fd ids are > 0 and never reused within one loop.
 */
#ifndef FL_LOOP_H
#define FL_LOOP_H

#include <stdint.h>

struct fl_loop;

typedef void fl_timer_fn(struct fl_loop *l, long long id, void *arg);
/* `revents` is the poll(2) mask the kernel reported (POLLIN, POLLHUP...). */
typedef void fl_fd_fn(struct fl_loop *l, int fd, int revents, void *arg);
typedef void fl_hook_fn(struct fl_loop *l, void *arg);

/* Create a loop. Returns 0 and *out, or -errno (io_uring unavailable...). */
int fl_loop_new(struct fl_loop **out);
void fl_loop__free(struct fl_loop *l);

/* CLOCK_MONOTONIC ns as read at the start of this iteration. */
int64_t fl_loop_now(const struct fl_loop *l);

/* Call fn after `delay_ns`, then every `period_ns` if period_ns > 0 (a late
 * periodic timer is not fired twice to catch up; the next deadline is one
 * period after the one missed, or after now if that is past too). Timers due
 * in the same iteration fire in deadline order, ties in creation order.
 * Returns the timer id (> 0) or -ENOMEM. */
long long fl_loop_timer_add(struct fl_loop *l, int64_t delay_ns,
			    int64_t period_ns, fl_timer_fn *fn, void *arg);
/* Cancel a timer (also from inside its own handler). 0 or -ENOENT. */
int fl_loop_timer_del(struct fl_loop *l, long long id);

/* Call fn whenever fd is readable (level-triggered: re-armed after each
 * call until removed). Returns the interest id (> 0) or -errno. */
long long fl_loop_fd_add(struct fl_loop *l, int fd, fl_fd_fn *fn, void *arg);
/* Stop watching (also from inside the handler). 0 or -ENOENT. The fd is not
 * closed; it may be closed right after this returns. */
int fl_loop_fd_del(struct fl_loop *l, long long id);

/* Called once per iteration just before waiting (NULL to clear). */
void fl_loop_set_before_sleep(struct fl_loop *l, fl_hook_fn *fn, void *arg);

/* Run until fl_loop_stop. Returns 0, or -errno if waiting failed. */
int fl_loop_run(struct fl_loop *l);
/* Make fl_loop_run return after the current iteration. */
void fl_loop_stop(struct fl_loop *l);

#endif /* FL_LOOP_H */
