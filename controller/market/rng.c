/*
 * rng.c — counter-based random variates for the model.
 *
 * A variate is a pure function of (stream key, tick, slot, try): each
 * component owns a stream (keys fanned out of the master seed by SplitMix64)
 * and each draw within a tick has a fixed slot, so every tick draws the same
 * variates whatever branches ran, and a rejection sampler's extra tries use
 * their own sub-counter instead of shifting later draws.
 */
#include <math.h>

#include "faultline/prng.h"
#include "market/mkt_internal.h"

uint64_t mkt_splitmix64(uint64_t *s)
{
	/* Steele, Lea & Flood, "Fast splittable pseudorandom number generators",
	 * OOPSLA 2014. */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void mkt_rng_fan(uint64_t seed, struct mkt_rng out[MKT_ST__COUNT])
{
	uint64_t s = seed;

	for (int i = 0; i < MKT_ST__COUNT; i++) {
		out[i].key = mkt_splitmix64(&s);
		out[i].tick = 0;
	}
}

double mkt_u01(const struct mkt_rng *r, unsigned slot, unsigned try_)
{
	uint64_t c = ((uint64_t)slot << 32) | try_;
	uint64_t x = fl_mix64(r->key ^ fl_mix64(r->tick * 0xd1b54a32d192ed03ull + 0x632be59bd9b4e019ull));

	x = fl_mix64(x ^ (c * 0x9e3779b97f4a7c15ull));
	return ((double)(x >> 11) + 0.5) * 0x1.0p-53;
}

double mkt_normal_at(const struct mkt_rng *r, unsigned slot, unsigned t0)
{
	/* Box & Muller (1958). */
	double u1 = mkt_u01(r, slot, t0), u2 = mkt_u01(r, slot, t0 + 1);

	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

double mkt_normal(const struct mkt_rng *r, unsigned slot)
{
	return mkt_normal_at(r, slot, 0);
}

#define MT_TRIES 64

/* Marsaglia & Tsang, "A simple method for generating gamma variables",
 * ACM TOMS 26(3), 2000: shape a >= 1; a < 1 by G(a+1) U^(1/a). */
double mkt_gamma(const struct mkt_rng *r, unsigned slot, double a)
{
	double boost = 1.0, d, c;

	if (a < 1.0) {
		boost = pow(mkt_u01(r, slot, 3 * MT_TRIES), 1.0 / a);
		a += 1.0;
	}
	d = a - 1.0 / 3.0;
	c = 1.0 / sqrt(9.0 * d);
	for (unsigned k = 0; k < MT_TRIES; k++) {
		double x = mkt_normal_at(r, slot, 3 * k), v = 1.0 + c * x, u;

		if (v <= 0)
			continue;
		v = v * v * v;
		u = mkt_u01(r, slot, 3 * k + 2);
		if (log(u) < 0.5 * x * x + d - d * v + d * log(v))
			return d * v * boost;
	}
	return d * boost; /* never in practice: P(64 rejections) < 1e-80 */
}

double mkt_student(const struct mkt_rng *r, unsigned slot, double nu)
{
	double z = mkt_normal(r, slot), chi2;

	if (nu == 0)
		return z;
	/* T = N / sqrt(chi2_nu / nu), chi2_nu = 2 Gamma(nu/2); unit variance
	 * by sqrt((nu-2)/nu). */
	chi2 = 2.0 * mkt_gamma(r, slot + 1, 0.5 * nu);
	return z / sqrt(chi2 / nu) * mkt_t_scale(nu);
}

int mkt_poisson(const struct mkt_rng *r, unsigned slot, double lam)
{
	double u = mkt_u01(r, slot, 0), p = exp(-lam), F = p;
	int k = 0;

	if (lam <= 0)
		return 0;
	while (u > F && k < 1000) {
		k++;
		p *= lam / k;
		F += p;
	}
	return k;
}
