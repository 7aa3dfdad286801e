/*
 * A VM of nr vCPUs built by hand for host tests of el2/ (no manifest, no
 * frames): vCPU 0 is vm->vcpu, the others more[0..nr-2]; each knows its VM,
 * index and MPIDR; vCPU 0 runnable, the others off, as after boot.
 */
#ifndef EXO_TESTS_HOST_FAKE_VM_H
#define EXO_TESTS_HOST_FAKE_VM_H

#include <el2/vm.h>
#include <string.h>

static inline void fake_vm_link(struct vm *vm, struct vcpu *more,
				unsigned nr)
{
	memset(vm, 0, sizeof(*vm));
	vm->nr_vcpus = nr;
	for (unsigned i = 0; i < nr; i++) {
		struct vcpu *c = i ? &more[i - 1] : &vm->vcpu;

		memset(c, 0, sizeof(*c));
		c->vm = vm;
		c->index = i;
		c->vmpidr = vcpu_mpidr(i, nr);
		c->state = i ? VCPU_OFF : VCPU_RUNNABLE;
		vm->vcpus[i] = c;
	}
}

#endif
