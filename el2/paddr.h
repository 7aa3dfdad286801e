/*
 * Typed addresses, after Hafnium's paddr_t/ipaddr_t: a physical address and
 * an intermediate-physical one are different types across the hypercall
 * dispatcher, the memory transactions (el2/mem.h) and stage 2 (el2/s2.h),
 * so passing one for the other does not compile. Single-member structs
 * passed by value: the same code as a bare uint64_t.
 * exo maps PA p at IPA p (docs/design.md: "IPA == PA"); ipa_of_pa is the
 * one place that says a physical frame is mapped at its own address.
 */
#ifndef EXO_EL2_PADDR_H
#define EXO_EL2_PADDR_H

#include <stdint.h>

typedef struct {
	uint64_t pa;
} paddr_t;

typedef struct {
	uint64_t ipa;
} ipaddr_t;

_Static_assert(sizeof(paddr_t) == sizeof(uint64_t) &&
		       sizeof(ipaddr_t) == sizeof(uint64_t),
	       "passed in one register, as a bare address is");

static inline paddr_t pa_init(uint64_t pa)
{
	return (paddr_t){ pa };
}

static inline uint64_t pa_addr(paddr_t pa)
{
	return pa.pa;
}

static inline ipaddr_t ipa_init(uint64_t ipa)
{
	return (ipaddr_t){ ipa };
}

static inline uint64_t ipa_addr(ipaddr_t ipa)
{
	return ipa.ipa;
}

/* Where a guest sees a frame it may access: at its own address. */
static inline ipaddr_t ipa_of_pa(paddr_t pa)
{
	return ipa_init(pa_addr(pa));
}

#endif
