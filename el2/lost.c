/*
 * The runs a borrower lost through its owner (el2/lost.h). A bounded list:
 * when it is full, a new run is merged with the recorded run nearest to it
 * (their hull), so the list never drops a run the guest lost; the hull may
 * cover frames it never held, whose touches are then excused too, and
 * those are still counted, apart, against their own limit
 * (el2/guest_trap.c). Every change starts a new generation, so an ack
 * never forgets a run the guest has not read.
 *
 * Owns: struct vm_lost. Never: maps, unmaps or counts touches.
 */
#include <el2/lost.h>
#include <el2/vm_event.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/hvc.h>
#include <string.h>

static uint64_t run_end(const struct vm_run *r)
{
	return r->pa + (r->count << EXO_FRAME_SHIFT);
}

/* Frames between run r and [pa, end): 0 when they touch or overlap. */
static uint64_t gap(const struct vm_run *r, uint64_t pa, uint64_t end)
{
	if (end < r->pa)
		return r->pa - end;
	if (pa > run_end(r))
		return pa - run_end(r);
	return 0;
}

static void merge(struct vm_run *r, uint64_t pa, uint64_t end)
{
	uint64_t lo = pa < r->pa ? pa : r->pa;
	uint64_t hi = end > run_end(r) ? end : run_end(r);

	r->pa = lo;
	r->count = (hi - lo) >> EXO_FRAME_SHIFT;
}

static unsigned nearest(const struct vm_lost *l, uint64_t pa, uint64_t end)
{
	unsigned best = 0;

	for (unsigned i = 1; i < l->nr; i++) {
		if (gap(&l->runs[i], pa, end) < gap(&l->runs[best], pa, end))
			best = i;
	}
	return best;
}

void lost_note(struct vm_lost *l, uint64_t pa, uint64_t count)
{
	uint64_t end = pa + (count << EXO_FRAME_SHIFT);
	unsigned i;

	if (!count)
		return;
	l->generation++;
	if (l->nr) {
		i = nearest(l, pa, end);
		if (!gap(&l->runs[i], pa, end) || l->nr == VM_LOST_MAX) {
			merge(&l->runs[i], pa, end);
			return;
		}
	}
	l->runs[l->nr++] = (struct vm_run){ pa, count };
}

void lost_tell(struct vm *vm, uint64_t pa, uint64_t count)
{
	if (!count)
		return;
	lost_note(&vm->lost, pa, count);
	vm_event_raise(vm, EXO_EVENT_RECLAIMED);
}

bool lost_covers(const struct vm_lost *l, uint64_t pa)
{
	for (unsigned i = 0; i < l->nr; i++) {
		if (pa >= l->runs[i].pa && pa < run_end(&l->runs[i]))
			return true;
	}
	return false;
}

int64_t lost_run(const struct vm_lost *l, uint64_t i, struct vm_run *run,
		 uint64_t *generation)
{
	if (i >= l->nr)
		return EXO_ENOENT;
	*run = l->runs[i];
	*generation = l->generation;
	return EXO_OK;
}

int64_t lost_ack(struct vm_lost *l, uint64_t generation)
{
	if (generation != l->generation)
		return EXO_ESTATE;
	l->nr = 0;
	return EXO_OK;
}

void lost_new_life(struct vm *vm)
{
	memset(&vm->lost, 0, sizeof(vm->lost));
	vm->events &= ~(uint64_t)EXO_EVENT_RECLAIMED;
}
