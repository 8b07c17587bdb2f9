/*
 * faultline/prng.h — counter-based randomness shared by shim and controller.
 *
 * A verdict's randomness is a pure function of (seed, stream, counter): no
 * state, no locks, the same in every process, so the same profile and the
 * same call order give the same verdicts run after run. SplitMix64's
 * finalizer (Steele, Lea, Flood 2014) mixes the key.
 */
#ifndef FAULTLINE_PRNG_H
#define FAULTLINE_PRNG_H

#include <stdint.h>

static inline uint64_t fl_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The n-th output of stream `stream` under `seed`. */
static inline uint64_t fl_prng(uint64_t seed, uint64_t stream, uint64_t n)
{
	uint64_t k = fl_mix64(seed + 0x9e3779b97f4a7c15ull * (stream + 1));
	return fl_mix64(k ^ (n * 0xd1b54a32d192ed03ull));
}

/* Uniform double in [0, 1) from a 64-bit draw. */
static inline double fl_unit(uint64_t x)
{
	return (double)(x >> 11) * 0x1.0p-53;
}

/* Streams per rule: which of a rule's random choices a draw is for. */
enum { FL_STREAM_PROB = 0, FL_STREAM_JITTER = 1 };
#define FL_STREAM(rule, what) ((uint64_t)(rule) * 16u + (uint64_t)(what))

#endif /* FAULTLINE_PRNG_H */
