/* el2/frames.c: the frame ownership DB, transition by transition, against
 * the boot self-test's table and against a reference model. */
#include "fake_arch.h"
#include "share_bits.h"

#include <criterion/criterion.h>
#include <el2/frames.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Test(frames, selftest_table_passes)
{
	size_t size = frames_selftest_scratch_size();
	void *scratch = malloc(size);

	fake_reset();
	cr_expect_eq(frames_selftest(scratch, size), 0, "%s", fake.console);
	free(scratch);
	cr_assert_not_null(strstr(fake.console, "0 failed"));
}

/* --- a small DB: 64 frames at 2 GiB, frames 20-23 a RAM hole ------------- */

#define BASE UINT64_C(0x80000000)
#define NR 64
#define HOLE 20
#define HOLE_N 4
#define SHARES 8
#define DEV UINT64_C(0x09000000)
#define PA(i) (BASE + (uint64_t)(i) * FRAMES_SIZE)
#define VM_A 1
#define VM_B 2
#define VM_C 3

#define STORAGE_WORDS \
	((NR * sizeof(struct frames_entry) + SHARES * sizeof(struct frames_share)) / 8)

struct fixture {
	struct frames_db db;
	uint64_t storage[STORAGE_WORDS];
	size_t size;
};

static void fx_init(struct fixture *fx, uint64_t quota)
{
	fx->size = frames_storage_size(NR, SHARES);
	cr_assert_eq(fx->size, sizeof(fx->storage));
	cr_assert_eq(frames_init(&fx->db, BASE, NR, SHARES, fx->storage,
				 fx->size), 0);
	cr_assert_eq(frames_ram_add(&fx->db, BASE, HOLE), 0);
	cr_assert_eq(frames_ram_add(&fx->db, PA(HOLE + HOLE_N),
				    NR - HOLE - HOLE_N), 0);
	cr_assert_eq(frames_device_add(&fx->db, DEV, 2), 0);
	for (unsigned vm = VM_A; vm <= VM_C; vm++)
		cr_assert_eq(frames_vm_create(&fx->db, vm, quota), 0);
}

static void fx_fini(struct fixture *fx)
{
	(void)fx;
}

/* Snapshot of everything a check may not change. */
struct snap {
	struct frames_db db;
	unsigned char storage[NR * sizeof(struct frames_entry) +
			      SHARES * sizeof(struct frames_share)];
};

static void snap_take(const struct fixture *fx, struct snap *s)
{
	memcpy(&s->db, &fx->db, sizeof(s->db));
	memcpy(s->storage, fx->storage, fx->size);
}

static bool snap_same(const struct fixture *fx, const struct snap *s)
{
	return !memcmp(&s->db, &fx->db, sizeof(s->db)) &&
	       !memcmp(s->storage, fx->storage, fx->size);
}

static int do_alloc_at(struct fixture *fx, unsigned vm, uint64_t pa,
		       uint64_t count, unsigned tables)
{
	struct frames_op op;
	int rc = frames_alloc_at_check(&fx->db, vm, pa, count, tables, &op);

	if (!rc)
		frames_alloc_commit(&fx->db, &op);
	return rc;
}

static int do_alloc(struct fixture *fx, unsigned vm, uint64_t count,
		    unsigned align, unsigned tables, uint64_t *pa)
{
	struct frames_op op;
	int rc = frames_alloc_check(&fx->db, vm, count, align, tables, &op);

	if (!rc) {
		frames_alloc_commit(&fx->db, &op);
		*pa = op.pa;
	}
	return rc;
}

static int do_free(struct fixture *fx, unsigned vm, uint64_t pa,
		   uint64_t count)
{
	struct frames_op op;
	int rc = frames_free_check(&fx->db, vm, pa, count, 0, &op);

	if (!rc)
		frames_free_commit(&fx->db, &op);
	return rc;
}

static int do_share(struct fixture *fx, unsigned vm, unsigned to,
		    uint64_t pa, uint64_t count, enum frames_perm perm)
{
	struct frames_op op;
	int rc = frames_share_check(&fx->db, vm, to, pa, count, perm, 0, &op);

	if (!rc)
		frames_share_commit(&fx->db, &op);
	return rc;
}

static int do_unshare(struct fixture *fx, unsigned vm, unsigned to,
		      uint64_t pa, uint64_t count)
{
	struct frames_op op;
	int rc = frames_unshare_check(&fx->db, vm, to, pa, count, 0, &op);

	if (!rc)
		frames_unshare_commit(&fx->db, &op);
	return rc;
}

static int do_lend(struct fixture *fx, unsigned vm, unsigned to,
		   uint64_t pa, uint64_t count)
{
	struct frames_op op;
	int rc = frames_lend_check(&fx->db, vm, to, pa, count,
				   (struct frames_tables){ 0, 0 }, &op);

	if (!rc)
		frames_lend_commit(&fx->db, &op);
	return rc;
}

static int do_reclaim(struct fixture *fx, unsigned vm, unsigned to,
		      uint64_t pa, uint64_t count)
{
	struct frames_op op;
	int rc = frames_reclaim_check(&fx->db, vm, to, pa, count,
				      (struct frames_tables){ 0, 0 }, &op);

	if (!rc)
		frames_reclaim_commit(&fx->db, &op);
	return rc;
}

static int do_donate(struct fixture *fx, unsigned vm, unsigned to,
		     uint64_t pa, uint64_t count, unsigned tables)
{
	struct frames_op op;
	int rc = frames_donate_check(&fx->db, vm, to, pa, count,
				     (struct frames_tables){ 0, tables }, &op);

	if (!rc)
		frames_donate_commit(&fx->db, &op);
	return rc;
}

/* The table frames a check reserved (before its commit), into pas; their
 * number. */
static unsigned op_tables(const struct frames_db *db,
			  const struct frames_op *op, uint64_t *pas,
			  unsigned *vms)
{
	struct frames_table_cursor c = { 0 };
	unsigned n = 0, vm;
	uint64_t pa;

	while (frames_op_table_next(db, op, &c, &pa, &vm)) {
		pas[n] = pa;
		if (vms)
			vms[n] = vm;
		n++;
	}
	return n;
}

static int do_table(struct fixture *fx, unsigned vm, unsigned n,
		    uint64_t *pas)
{
	struct frames_op op;
	int rc = frames_table_check(&fx->db, vm, n, &op);

	if (!rc) {
		cr_assert_eq(op_tables(&fx->db, &op, pas, NULL), n);
		frames_table_commit(&fx->db, &op);
	}
	return rc;
}

static int do_table_free(struct fixture *fx, unsigned vm, uint64_t pa)
{
	struct frames_op op;
	int rc = frames_table_free_check(&fx->db, vm, pa, &op);

	if (!rc)
		frames_table_free_commit(&fx->db, &op);
	return rc;
}

static int do_assign(struct fixture *fx, unsigned vm, uint64_t pa,
		     uint64_t count)
{
	struct frames_op op;
	int rc = frames_device_assign_check(&fx->db, vm, pa, count, 0, &op);

	if (!rc)
		frames_device_assign_commit(&fx->db, &op);
	return rc;
}

static int do_release(struct fixture *fx, unsigned vm, uint64_t pa,
		      uint64_t count)
{
	struct frames_op op;
	int rc = frames_device_release_check(&fx->db, vm, pa, count, &op);

	if (!rc)
		frames_device_release_commit(&fx->db, &op);
	return rc;
}

static enum exo_frame_state state_at(struct fixture *fx, uint64_t pa)
{
	struct frames_info f;

	cr_assert_eq(frames_query(&fx->db, pa, &f), 0);
	return f.state;
}

static uint64_t used(struct fixture *fx, unsigned vm)
{
	return frames_account(&fx->db, vm)->used;
}

/* --- set-up ------------------------------------------------------------- */

Test(frames, init_checks_its_storage_and_span)
{
	struct frames_db db;
	uint64_t storage[64];

	cr_assert_eq(frames_storage_size(10, 2), 10 * 8 + 2 * 16);
	cr_assert_eq(sizeof(struct frames_entry), 8, "entry stays 8 bytes");
	cr_assert_eq(frames_storage_size(UINT64_MAX / 4, 0), 0, "overflow");
	cr_assert_eq(frames_init(&db, BASE, 0, 0, storage, sizeof(storage)),
		     EXO_EINVAL);
	cr_assert_eq(frames_init(&db, BASE, 64, 1, storage, sizeof(storage)),
		     EXO_EINVAL, "storage too small");
	cr_assert_eq(frames_init(&db, BASE, 8, 0, (char *)storage + 4, 64),
		     EXO_EINVAL, "misaligned storage");
	cr_assert_eq(frames_init(&db, BASE + 1, 8, 0, storage, 64), EXO_ERANGE);
	cr_assert_eq(frames_init(&db, UINT64_MAX - 0xfff, 2, 0, storage, 64),
		     EXO_ERANGE, "span wraps");
	cr_assert_eq(frames_init(&db, BASE, 8, 0, storage, 64), 0);
	cr_assert_eq(frames_count(&db, EXO_FRAME_NONE), 8);
	cr_assert_eq(frames_ram_add(&db, BASE, 9), EXO_ERANGE);
	cr_assert_eq(frames_ram_add(&db, BASE, 8), 0);
	cr_assert_eq(frames_ram_add(&db, BASE, 1), EXO_ESTATE, "added twice");
	cr_assert_eq(frames_count(&db, EXO_FRAME_FREE), 8);
}

Test(frames, vm_ids_and_lifetime)
{
	struct fixture fx;
	uint64_t pa;

	fx_init(&fx, 8);
	cr_assert_eq(frames_vm_create(&fx.db, 0, 1), EXO_ENOENT);
	cr_assert_eq(frames_vm_create(&fx.db, EXO_MAX_VMS, 1), EXO_ENOENT);
	cr_assert_eq(frames_vm_create(&fx.db, VM_A, 1), EXO_EBUSY);
	cr_assert_eq(frames_vm_create(&fx.db, EXO_MAX_VMS - 1, 1), 0);
	cr_assert_eq(do_alloc(&fx, 0, 1, 0, 0, &pa), EXO_ENOENT);
	cr_assert_eq(do_alloc(&fx, 9, 1, 0, 0, &pa), EXO_ENOENT, "not live");
	cr_assert_eq(do_alloc(&fx, 256 + VM_A, 1, 0, 0, &pa), EXO_ENOENT,
		     "no truncation to 8 bits");
	cr_assert_eq(do_share(&fx, VM_A, 300, PA(0), 1, FRAMES_PERM_R),
		     EXO_ENOENT);
	cr_assert_eq(do_alloc(&fx, VM_A, 1, 0, 0, &pa), 0);
	cr_assert_eq(frames_vm_destroy(&fx.db, VM_A), EXO_EBUSY);
	cr_assert_eq(do_share(&fx, VM_A, VM_B, pa, 1, FRAMES_PERM_R), 0);
	cr_assert_eq(frames_vm_destroy(&fx.db, VM_B), EXO_EBUSY, "borrows");
	cr_assert_eq(do_unshare(&fx, VM_A, VM_B, pa, 1), 0);
	cr_assert_eq(frames_vm_destroy(&fx.db, VM_B), 0);
	cr_assert_eq(frames_vm_destroy(&fx.db, VM_B), EXO_ENOENT);
	cr_assert_eq(do_free(&fx, VM_A, pa, 1), 0);
	cr_assert_eq(frames_vm_destroy(&fx.db, VM_A), 0);
	fx_fini(&fx);
}

/* --- alloc: run search, alignment, quota --------------------------------- */

Test(frames, alloc_first_fit_with_alignment)
{
	struct fixture fx;
	uint64_t pa;

	fx_init(&fx, NR);
	cr_assert_eq(do_alloc(&fx, VM_A, 3, 0, 0, &pa), 0);
	cr_assert_eq(pa, PA(0));
	cr_assert_eq(do_alloc(&fx, VM_A, 1, 2, 0, &pa), 0, "4-frame aligned");
	cr_assert_eq(pa, PA(4));
	cr_assert_eq(do_alloc(&fx, VM_A, 1, 0, 0, &pa), 0, "fills the gap");
	cr_assert_eq(pa, PA(3));
	/* 16 frames cannot cross the hole at 20-23: the first run is 24. */
	cr_assert_eq(do_alloc(&fx, VM_B, 16, 0, 0, &pa), 0);
	cr_assert_eq(pa, PA(24));
	cr_assert_eq(do_alloc(&fx, VM_B, 8, 3, 0, &pa), 0);
	cr_assert_eq(pa, PA(8), "first 8-aligned free run");
	cr_assert_eq(do_alloc(&fx, VM_C, 32, 0, 0, &pa), EXO_ENOMEM);
	cr_assert_eq(do_alloc(&fx, VM_C, NR + 1, 0, 0, &pa), EXO_EQUOTA,
		     "quota before search");
	cr_assert_eq(do_alloc(&fx, VM_C, 1, FRAMES_MAX_ALIGN_LOG2 + 1, 0, &pa),
		     EXO_EINVAL);
	cr_assert_eq(do_alloc(&fx, VM_C, 0, 0, 0, &pa), EXO_EINVAL);
	cr_assert_eq(do_alloc(&fx, VM_C, 1, 0, FRAMES_OP_MAX_TABLES + 1, &pa),
		     EXO_EINVAL);
	/* 2^18 frames alignment: only PA 0x80000000 qualifies, and it is taken. */
	cr_assert_eq(do_alloc(&fx, VM_C, 1, FRAMES_MAX_ALIGN_LOG2, 0, &pa),
		     EXO_ENOMEM);
	fx_fini(&fx);
}

Test(frames, alloc_alignment_is_of_the_pa_not_the_index)
{
	struct frames_db db;
	uint64_t storage[16];
	struct frames_op op;

	/* Span starting at an odd frame: 2-aligned PAs are odd indices. */
	cr_assert_eq(frames_init(&db, BASE + FRAMES_SIZE, 16, 0, storage,
				 sizeof(storage)), 0);
	cr_assert_eq(frames_ram_add(&db, BASE + FRAMES_SIZE, 16), 0);
	cr_assert_eq(frames_vm_create(&db, VM_A, 16), 0);
	cr_assert_eq(frames_alloc_check(&db, VM_A, 2, 1, 0, &op), 0);
	cr_assert_eq(op.pa, BASE + 2 * FRAMES_SIZE);
	cr_assert_eq(frames_alloc_check(&db, VM_A, 1, 4, 0, &op), 0);
	cr_assert_eq(op.pa, BASE + 16 * FRAMES_SIZE, "the last frame");
	cr_assert_eq(frames_alloc_check(&db, VM_A, 2, 4, 0, &op), EXO_ENOMEM);
	cr_assert_eq(frames_alloc_check(&db, VM_A, 1, 5, 0, &op), EXO_ENOMEM);
}

Test(frames, quota_counts_frames_and_table_pages)
{
	struct fixture fx;
	const struct frames_account *a;
	uint64_t pa, t[2];

	fx_init(&fx, 10);
	a = frames_account(&fx.db, VM_A);
	cr_assert_eq(do_alloc(&fx, VM_A, 4, 0, 2, &pa), 0);
	cr_assert_eq(a->used, 6);
	cr_assert_eq(a->tables, 2);
	cr_assert_eq(state_at(&fx, PA(NR - 1)), EXO_FRAME_HYP, "tables on top");
	cr_assert_eq(do_alloc(&fx, VM_A, 5, 0, 0, &pa), EXO_EQUOTA);
	cr_assert_eq(do_alloc(&fx, VM_A, 4, 0, 1, &pa), EXO_EQUOTA,
		     "table pages count");
	cr_assert_eq(do_alloc(&fx, VM_A, UINT64_MAX, 0, 0, &pa), EXO_EQUOTA);
	cr_assert_eq(do_alloc(&fx, VM_A, 2, 0, 0, &pa), 0);
	cr_assert_eq(do_table(&fx, VM_A, 2, t), 0);
	cr_assert_eq(a->used, 10);
	cr_assert_eq(a->peak, 10);
	cr_assert_eq(do_table(&fx, VM_A, 1, t), EXO_EQUOTA);
	cr_assert_eq(do_table(&fx, VM_A, 0, t), EXO_EINVAL);
	cr_assert_eq(do_free(&fx, VM_A, PA(0), 4), 0);
	cr_assert_eq(a->used, 6);
	cr_assert_eq(a->peak, 10, "peak stays");
	cr_assert_eq(do_table_free(&fx, VM_A, t[0]), 0);
	cr_assert_eq(do_table_free(&fx, VM_B, t[1]), EXO_EPERM);
	cr_assert_eq(a->used, 5);
	cr_assert_eq(a->tables, 3);
	cr_assert_eq(used(&fx, VM_B), 0, "no one else pays");
	fx_fini(&fx);
}

Test(frames, donate_moves_the_charge_within_quota)
{
	struct fixture fx;
	uint64_t pa;

	fx_init(&fx, 4);
	cr_assert_eq(do_alloc(&fx, VM_A, 4, 0, 0, &pa), 0);
	cr_assert_eq(do_alloc(&fx, VM_B, 2, 0, 0, &pa), 0);
	cr_assert_eq(do_donate(&fx, VM_A, VM_B, PA(0), 3, 0), EXO_EQUOTA);
	cr_assert_eq(do_donate(&fx, VM_A, VM_B, PA(0), 2, 1), EXO_EQUOTA,
		     "and the recipient's table pages");
	cr_assert_eq(do_donate(&fx, VM_A, VM_B, PA(0), 2, 0), 0);
	cr_assert_eq(used(&fx, VM_A), 2);
	cr_assert_eq(used(&fx, VM_B), 4);
	cr_assert_eq(frames_access(&fx.db, VM_B, PA(1)), FRAMES_ACCESS_RW);
	cr_assert_eq(frames_access(&fx.db, VM_A, PA(1)), FRAMES_ACCESS_NONE);
	cr_assert_eq(do_donate(&fx, VM_A, VM_A, PA(2), 1, 0), EXO_EINVAL);
	cr_assert_eq(do_donate(&fx, VM_A, VM_B, PA(0), 1, 0), EXO_EPERM);
	fx_fini(&fx);
}

/* One check reserves the stage-2 table frames of both sides of a
 * transition (el2/mem.c counts them first): each side is charged within
 * its own quota, a refusal changes nothing, and the commit charges each. */
Test(frames, one_check_reserves_tables_for_both_sides)
{
	struct fixture fx;
	struct frames_op op;
	struct snap s;
	uint64_t tpa[3];
	unsigned tvm[3];
	uint64_t pa;

	fx_init(&fx, 6);
	cr_assert_eq(do_alloc_at(&fx, VM_A, PA(0), 4, 0), 0);
	snap_take(&fx, &s);
	cr_assert_eq(frames_lend_check(&fx.db, VM_A, VM_B, PA(0), 2,
				       (struct frames_tables){ 3, 0 }, &op),
		     EXO_EQUOTA, "the lender pays for its own split");
	cr_assert_eq(frames_lend_check(&fx.db, VM_A, VM_B, PA(0), 2,
				       (struct frames_tables){
					       FRAMES_OP_MAX_TABLES + 1, 0 },
				       &op), EXO_EINVAL);
	cr_assert_eq(frames_donate_check(&fx.db, VM_A, VM_B, PA(0), 2,
					 (struct frames_tables){ 3, 0 }, &op),
		     EXO_EQUOTA);
	cr_assert(snap_same(&fx, &s), "refused checks change nothing");
	cr_assert_eq(frames_lend_check(&fx.db, VM_A, VM_B, PA(0), 2,
				       (struct frames_tables){ 1, 2 }, &op), 0);
	cr_assert_eq(op.nr_tables, 3);
	cr_assert_eq(op_tables(&fx.db, &op, tpa, tvm), 3);
	frames_lend_commit(&fx.db, &op);
	cr_assert_eq(frames_account(&fx.db, VM_A)->tables, 1);
	cr_assert_eq(frames_account(&fx.db, VM_B)->tables, 2);
	cr_assert_eq(used(&fx, VM_A), 5);
	cr_assert_eq(used(&fx, VM_B), 2);
	for (unsigned t = 0; t < op.nr_tables; t++) {
		struct frames_info info;

		cr_assert_eq(frames_query(&fx.db, tpa[t], &info), 0);
		cr_assert_eq(info.state, EXO_FRAME_HYP);
		cr_assert_eq(info.owner, t < 1 ? VM_A : VM_B);
		cr_assert_eq(tvm[t], info.owner);
	}

	/* Reclaim: the borrower's unmap and the owner's map. */
	snap_take(&fx, &s);
	cr_assert_eq(frames_reclaim_check(&fx.db, VM_A, VM_B, PA(0), 2,
					  (struct frames_tables){ 0, 5 }, &op),
		     EXO_EQUOTA, "the borrower's tables, within its quota");
	cr_assert_eq(frames_reclaim_check(&fx.db, VM_A, VM_B, PA(0), 2,
					  (struct frames_tables){ 2, 0 }, &op),
		     EXO_EQUOTA, "the owner's tables, within its quota");
	cr_assert_eq(frames_reclaim_check(&fx.db, VM_A, VM_B, PA(0), 2,
					  (struct frames_tables){
						  0, FRAMES_OP_MAX_TABLES + 1 },
					  &op), EXO_EINVAL);
	cr_assert(snap_same(&fx, &s));
	cr_assert_eq(frames_reclaim_check(&fx.db, VM_A, VM_B, PA(0), 2,
					  (struct frames_tables){ 1, 1 }, &op),
		     0);
	frames_reclaim_commit(&fx.db, &op);
	cr_assert_eq(frames_account(&fx.db, VM_A)->tables, 2);
	cr_assert_eq(frames_account(&fx.db, VM_B)->tables, 3);

	/* Unshare: the borrower's split. */
	cr_assert_eq(do_share(&fx, VM_A, VM_C, PA(2), 2, FRAMES_PERM_R), 0);
	snap_take(&fx, &s);
	cr_assert_eq(frames_unshare_check(&fx.db, VM_A, VM_C, PA(2), 2, 7, &op),
		     EXO_EQUOTA);
	cr_assert_eq(frames_unshare_check(&fx.db, VM_A, VM_C, PA(2), 2,
					  FRAMES_OP_MAX_TABLES + 1, &op),
		     EXO_EINVAL);
	cr_assert(snap_same(&fx, &s));
	cr_assert_eq(frames_unshare_check(&fx.db, VM_A, VM_C, PA(2), 2, 2, &op),
		     0);
	frames_unshare_commit(&fx.db, &op);
	cr_assert_eq(frames_account(&fx.db, VM_C)->tables, 2);
	cr_assert_eq(used(&fx, VM_C), 2);

	/* Free: the owner's split, within its quota (A: 4 owned + 2 tables). */
	snap_take(&fx, &s);
	cr_assert_eq(frames_free_check(&fx.db, VM_A, PA(3), 1, 1, &op),
		     EXO_EQUOTA);
	cr_assert_eq(frames_free_check(&fx.db, VM_A, PA(3), 1,
				       FRAMES_OP_MAX_TABLES + 1, &op),
		     EXO_EINVAL);
	cr_assert(snap_same(&fx, &s));
	cr_assert_eq(frames_free_check(&fx.db, VM_A, PA(3), 1, 0, &op), 0);
	frames_free_commit(&fx.db, &op);
	cr_assert_eq(frames_free_check(&fx.db, VM_A, PA(2), 1, 1, &op), 0);
	frames_free_commit(&fx.db, &op);
	cr_assert_eq(frames_account(&fx.db, VM_A)->tables, 3);
	cr_assert_eq(used(&fx, VM_A), 5, "2 owned + 3 tables");
	(void)pa;
	fx_fini(&fx);
}

/* alloc_at judges its table count after the range: a range the guest
 * cannot have is refused as such, however many tables it would need. */
Test(frames, alloc_at_judges_tables_after_the_range)
{
	struct fixture fx;

	fx_init(&fx, 8);
	cr_assert_eq(do_alloc_at(&fx, VM_A, PA(HOLE), 1,
				 FRAMES_OP_MAX_TABLES + 1), EXO_ERANGE);
	cr_assert_eq(do_alloc_at(&fx, VM_A, PA(0), 9,
				 FRAMES_OP_MAX_TABLES + 1), EXO_EQUOTA);
	cr_assert_eq(do_alloc_at(&fx, VM_A, PA(0), 1,
				 FRAMES_OP_MAX_TABLES + 1), EXO_EINVAL);
	cr_assert_eq(do_alloc_at(&fx, VM_A, PA(0), 1, 8), EXO_EQUOTA);
	cr_assert_eq(do_alloc_at(&fx, VM_A, PA(0), 1, 7), 0);
	cr_assert_eq(used(&fx, VM_A), 8);
	fx_fini(&fx);
}

/* With no FREE frame left, a free that needs a table frame is refused. */
Test(frames, free_needing_a_table_frame_fails_when_ram_is_full)
{
	struct fixture fx;
	struct frames_op op;
	struct snap s;
	uint64_t pa;

	fx_init(&fx, NR);
	cr_assert_eq(do_alloc_at(&fx, VM_A, PA(0), HOLE, 0), 0);
	cr_assert_eq(do_alloc(&fx, VM_A, NR - HOLE - HOLE_N, 0, 0, &pa), 0);
	snap_take(&fx, &s);
	cr_assert_eq(frames_free_check(&fx.db, VM_A, PA(0), 1, 1, &op),
		     EXO_ENOMEM);
	cr_assert(snap_same(&fx, &s));
	cr_assert_eq(frames_free_check(&fx.db, VM_A, PA(0), 1, 0, &op), 0);
	fx_fini(&fx);
}

/* --- ranges: all or nothing, overflow ------------------------------------- */

Test(frames, ranges_are_all_or_nothing)
{
	struct fixture fx;
	struct frames_op op;
	struct snap s;

	fx_init(&fx, NR);
	cr_assert_eq(do_alloc_at(&fx, VM_B, PA(7), 1, 0), 0);
	snap_take(&fx, &s);
	cr_assert_eq(frames_alloc_at_check(&fx.db, VM_A, PA(4), 4, 0, &op),
		     EXO_EBUSY, "last frame busy");
	cr_assert(snap_same(&fx, &s));
	cr_assert_eq(do_alloc_at(&fx, VM_A, PA(4), 3, 0), 0);
	cr_assert_eq(do_share(&fx, VM_A, VM_B, PA(5), 1, FRAMES_PERM_R), 0);
	snap_take(&fx, &s);
	cr_assert_eq(do_free(&fx, VM_A, PA(4), 3), EXO_ESHARED);
	cr_assert_eq(do_lend(&fx, VM_A, VM_C, PA(4), 3), EXO_ESHARED);
	cr_assert_eq(do_donate(&fx, VM_A, VM_C, PA(4), 3, 0), EXO_ESHARED);
	cr_assert_eq(do_free(&fx, VM_A, PA(4), 4), EXO_ESHARED,
		     "first refusal wins");
	cr_assert_eq(do_free(&fx, VM_A, PA(3), 2), EXO_EPERM, "free frame");
	cr_assert_eq(do_unshare(&fx, VM_A, VM_B, PA(4), 2), EXO_ESTATE);
	cr_assert(snap_same(&fx, &s));
	cr_assert_eq(do_alloc_at(&fx, VM_C, PA(HOLE - 1), 2, 0), EXO_ERANGE,
		     "runs into the hole");
	cr_assert_eq(do_alloc_at(&fx, VM_C, PA(NR - 3), 2, 4), 0,
		     "tables are found outside the run");
	cr_assert(snap_same(&fx, &s) == false);
	fx_fini(&fx);
}

Test(frames, overflow_and_bounds)
{
	struct fixture fx;

	fx_init(&fx, NR);
	cr_assert_eq(do_alloc_at(&fx, VM_A, PA(0), 0, 0), EXO_EINVAL);
	cr_assert_eq(do_alloc_at(&fx, VM_A, PA(0) + 8, 1, 0), EXO_ERANGE);
	cr_assert_eq(do_alloc_at(&fx, VM_A, BASE - FRAMES_SIZE, 2, 0),
		     EXO_ERANGE, "starts below RAM");
	cr_assert_eq(do_alloc_at(&fx, VM_A, PA(NR - 1), 2, 0), EXO_ERANGE);
	cr_assert_eq(do_alloc_at(&fx, VM_A, PA(NR), 1, 0), EXO_ERANGE);
	cr_assert_eq(do_alloc_at(&fx, VM_A, UINT64_MAX - 0xfff, 2, 0),
		     EXO_ERANGE, "pa + count wraps");
	cr_assert_eq(do_alloc_at(&fx, VM_A, PA(0), UINT64_MAX, 0), EXO_ERANGE);
	cr_assert_eq(do_alloc_at(&fx, VM_A, PA(0), UINT64_MAX >> 12, 0),
		     EXO_ERANGE);
	cr_assert_eq(do_alloc_at(&fx, VM_A, PA(1), (UINT64_MAX >> 12), 0),
		     EXO_ERANGE, "len fits, end wraps");
	cr_assert_eq(do_free(&fx, VM_A, 0, UINT64_C(1) << 40), EXO_EDEVICE,
		     "covers RAM and a device");
	cr_assert_eq(do_free(&fx, VM_A, PA(NR), UINT64_C(1) << 40), EXO_ERANGE);
	cr_assert_eq(do_alloc_at(&fx, VM_A, DEV, 1, 0), EXO_EDEVICE);
	cr_assert_eq(do_alloc_at(&fx, VM_A, DEV - FRAMES_SIZE, 2, 0),
		     EXO_EDEVICE, "touches a device");
	cr_assert_eq(do_table_free(&fx, VM_A, DEV + FRAMES_SIZE), EXO_EDEVICE);
	cr_assert_eq(frames_count(&fx.db, EXO_FRAME_OWNED), 0);
	fx_fini(&fx);
}

/* --- share, lend, devices ------------------------------------------------- */

Test(frames, share_with_several_borrowers)
{
	struct fixture fx;
	struct frames_info f;

	fx_init(&fx, NR);
	cr_assert_eq(do_alloc_at(&fx, VM_A, PA(0), 2, 0), 0);
	cr_assert_eq(do_share(&fx, VM_A, VM_B, PA(0), 2, FRAMES_PERM_R), 0);
	cr_assert_eq(do_share(&fx, VM_A, VM_C, PA(1), 1, FRAMES_PERM_RW), 0);
	cr_assert_eq(do_share(&fx, VM_A, VM_C, PA(0), 2, FRAMES_PERM_R),
		     EXO_ESTATE, "C already borrows frame 1");
	cr_assert_eq(do_share(&fx, VM_A, VM_B, PA(0), 1, 3), EXO_EINVAL);
	cr_assert_eq(do_share(&fx, VM_B, VM_C, PA(0), 1, FRAMES_PERM_R),
		     EXO_EPERM, "a borrower cannot re-share");
	cr_assert_eq(frames_query(&fx.db, PA(1), &f), 0);
	cr_assert_eq(f.state, EXO_FRAME_SHARED);
	cr_assert_eq(f.owner, VM_A);
	cr_assert_eq(share_bits(&f.share, false), (1u << VM_B) | (1u << VM_C));
	cr_assert_eq(share_bits(&f.share, true), 1u << VM_C);
	cr_assert_eq(frames_access(&fx.db, VM_A, PA(1)), FRAMES_ACCESS_RW);
	cr_assert_eq(frames_access(&fx.db, VM_B, PA(1)), FRAMES_ACCESS_R);
	cr_assert_eq(frames_access(&fx.db, VM_C, PA(1)), FRAMES_ACCESS_RW);
	cr_assert_eq(frames_access(&fx.db, VM_C, PA(0)), FRAMES_ACCESS_NONE);
	cr_assert_eq(frames_account(&fx.db, VM_B)->borrowed, 2);
	cr_assert_eq(used(&fx, VM_B), 0, "borrowing is free");
	cr_assert_eq(used(&fx, VM_A), 2);
	cr_assert_eq(do_unshare(&fx, VM_A, VM_B, PA(0), 2), 0);
	cr_assert_eq(state_at(&fx, PA(0)), EXO_FRAME_OWNED, "last borrower");
	cr_assert_eq(state_at(&fx, PA(1)), EXO_FRAME_SHARED, "C still there");
	cr_assert_eq(do_unshare(&fx, VM_A, VM_B, PA(1), 1), EXO_ESTATE);
	cr_assert_eq(do_unshare(&fx, VM_A, VM_C, PA(1), 1), 0);
	cr_assert_eq(frames_count(&fx.db, EXO_FRAME_SHARED), 0);
	fx_fini(&fx);
}

Test(frames, share_records_run_out_and_come_back)
{
	struct fixture fx;
	struct snap s;

	fx_init(&fx, NR);
	cr_assert_eq(do_alloc_at(&fx, VM_A, PA(0), SHARES + 1, 0), 0);
	snap_take(&fx, &s);
	cr_assert_eq(do_share(&fx, VM_A, VM_B, PA(0), SHARES + 1,
			      FRAMES_PERM_R), EXO_ENOMEM);
	cr_assert(snap_same(&fx, &s));
	cr_assert_eq(do_share(&fx, VM_A, VM_B, PA(0), SHARES, FRAMES_PERM_R),
		     0);
	cr_assert_eq(do_share(&fx, VM_A, VM_C, PA(0), SHARES, FRAMES_PERM_R),
		     0, "more borrowers need no new record");
	cr_assert_eq(do_share(&fx, VM_A, VM_B, PA(SHARES), 1, FRAMES_PERM_R),
		     EXO_ENOMEM);
	cr_assert_eq(do_unshare(&fx, VM_A, VM_B, PA(0), 1), 0);
	cr_assert_eq(do_unshare(&fx, VM_A, VM_C, PA(0), 1), 0);
	cr_assert_eq(do_share(&fx, VM_A, VM_B, PA(SHARES), 1, FRAMES_PERM_R),
		     0, "record reused");
	fx_fini(&fx);
}

Test(frames, lend_and_reclaim)
{
	struct fixture fx;

	fx_init(&fx, NR);
	cr_assert_eq(do_alloc_at(&fx, VM_A, PA(0), 2, 0), 0);
	cr_assert_eq(do_lend(&fx, VM_A, VM_B, PA(0), 2), 0);
	cr_assert_eq(frames_access(&fx.db, VM_A, PA(0)), FRAMES_ACCESS_NONE);
	cr_assert_eq(frames_access(&fx.db, VM_B, PA(0)), FRAMES_ACCESS_RW);
	cr_assert_eq(used(&fx, VM_A), 2, "still charged to the lender");
	cr_assert_eq(do_lend(&fx, VM_A, VM_C, PA(0), 1), EXO_ELENT);
	cr_assert_eq(do_free(&fx, VM_A, PA(0), 1), EXO_ELENT);
	cr_assert_eq(do_free(&fx, VM_B, PA(0), 1), EXO_EPERM);
	cr_assert_eq(do_lend(&fx, VM_B, VM_C, PA(0), 1), EXO_EPERM);
	cr_assert_eq(do_reclaim(&fx, VM_A, VM_C, PA(0), 2), EXO_ESTATE,
		     "lent to B, not C");
	cr_assert_eq(do_reclaim(&fx, VM_B, VM_A, PA(0), 2), EXO_EPERM);
	cr_assert_eq(do_reclaim(&fx, VM_A, VM_B, PA(0), 2), 0);
	cr_assert_eq(frames_account(&fx.db, VM_B)->borrowed, 0);
	cr_assert_eq(frames_access(&fx.db, VM_A, PA(0)), FRAMES_ACCESS_RW);
	cr_assert_eq(do_reclaim(&fx, VM_A, VM_B, PA(0), 1), EXO_ESTATE);
	fx_fini(&fx);
}

Test(frames, device_ranges)
{
	struct fixture fx;
	struct frames_info f;

	fx_init(&fx, NR);
	cr_assert_eq(frames_device_add(&fx.db, PA(3), 1), EXO_ERANGE,
		     "inside RAM");
	cr_assert_eq(frames_device_add(&fx.db, DEV + FRAMES_SIZE, 1), EXO_EBUSY);
	cr_assert_eq(do_assign(&fx, VM_A, DEV, 1), EXO_ERANGE, "whole range");
	cr_assert_eq(do_assign(&fx, VM_A, DEV, 2), 0);
	cr_assert_eq(do_assign(&fx, VM_A, DEV, 2), EXO_ESTATE);
	cr_assert_eq(do_assign(&fx, VM_B, DEV, 2), EXO_EBUSY);
	cr_assert_eq(do_release(&fx, VM_B, DEV, 2), EXO_EPERM);
	cr_assert_eq(frames_query(&fx.db, DEV + FRAMES_SIZE + 5, &f), 0);
	cr_assert_eq(f.state, EXO_FRAME_DEVICE);
	cr_assert_eq(f.owner, VM_A);
	cr_assert_eq(frames_access(&fx.db, VM_A, DEV), FRAMES_ACCESS_DEVICE);
	cr_assert_eq(frames_access(&fx.db, VM_B, DEV), FRAMES_ACCESS_NONE);
	cr_assert_eq(frames_count(&fx.db, EXO_FRAME_DEVICE), 2);
	cr_assert_eq(frames_guest_held(&fx.db), 2);
	cr_assert_eq(frames_vm_destroy(&fx.db, VM_A), EXO_EBUSY);
	cr_assert_eq(do_release(&fx, VM_A, DEV, 2), 0);
	cr_assert_eq(do_release(&fx, VM_A, DEV, 2), EXO_ESTATE);
	cr_assert_eq(frames_query(&fx.db, DEV + 0x10000, &f), EXO_ERANGE);
	cr_assert_eq(frames_access(&fx.db, VM_A, DEV + 0x10000),
		     FRAMES_ACCESS_NONE);
	fx_fini(&fx);
}

Test(frames, hyp_frames_at_boot)
{
	struct fixture fx;

	fx_init(&fx, NR);
	cr_assert_eq(frames_hyp_release_check(&fx.db, PA(0), 1,
					      &(struct frames_op){ 0 }),
		     EXO_ESTATE);
	cr_assert_eq(do_alloc_at(&fx, VM_A, PA(3), 1, 0), 0);
	{
		struct frames_op op;

		cr_assert_eq(frames_hyp_claim_check(&fx.db, PA(0), 4, &op),
			     EXO_EBUSY);
		cr_assert_eq(frames_hyp_claim_check(&fx.db, PA(0), 3, &op), 0);
		frames_hyp_claim_commit(&fx.db, &op);
		cr_assert_eq(frames_hyp_claim_check(&fx.db, PA(2), 1, &op),
			     EXO_EHYP);
		cr_assert_eq(do_alloc_at(&fx, VM_B, PA(0), 1, 0), EXO_EHYP);
		cr_assert_eq(do_free(&fx, VM_A, PA(0), 1), EXO_EHYP);
		cr_assert_eq(frames_count(&fx.db, EXO_FRAME_HYP), 3);
		cr_assert_eq(frames_hyp_release_check(&fx.db, PA(0), 3, &op),
			     0);
		frames_hyp_release_commit(&fx.db, &op);
	}
	cr_assert_eq(frames_count(&fx.db, EXO_FRAME_HYP), 0);
	fx_fini(&fx);
}

/* --- teardown: enumerate and undo everything a VM holds ------------------- */

static void undo_run(struct fixture *fx, unsigned vm,
		     const struct frames_run *r)
{
	struct frames_info f;

	switch (r->rel) {
	case FRAMES_REL_OWNED:
		cr_assert_eq(do_free(fx, vm, r->pa, r->count), 0);
		break;
	case FRAMES_REL_SHARED_OUT:
		cr_assert_eq(frames_query(&fx->db, r->pa, &f), 0);
		for (unsigned h; (h = frames_share_first(&f.share)) != 0;) {
			cr_assert_eq(do_unshare(fx, vm, h, r->pa, 1), 0);
			cr_assert_eq(frames_query(&fx->db, r->pa, &f), 0);
		}
		cr_assert_eq(do_free(fx, vm, r->pa, 1), 0);
		break;
	case FRAMES_REL_LENT_OUT:
		cr_assert_eq(do_reclaim(fx, vm, r->peer, r->pa, r->count), 0);
		cr_assert_eq(do_free(fx, vm, r->pa, r->count), 0);
		break;
	case FRAMES_REL_BORROWED:
		cr_assert_eq(do_unshare(fx, r->peer, vm, r->pa, r->count), 0);
		break;
	case FRAMES_REL_LENT_IN:
		cr_assert_eq(do_reclaim(fx, r->peer, vm, r->pa, r->count), 0);
		break;
	case FRAMES_REL_TABLE:
		for (uint64_t i = 0; i < r->count; i++)
			cr_assert_eq(do_table_free(fx, vm,
						   r->pa + i * FRAMES_SIZE), 0);
		break;
	case FRAMES_REL_DEVICE:
		cr_assert_eq(do_release(fx, vm, r->pa, r->count), 0);
		break;
	}
}

static void teardown(struct fixture *fx, unsigned vm)
{
	struct frames_run r;
	uint64_t cursor = 0;

	/* Undoing a run only changes frames at or before the cursor. */
	while (frames_vm_next(&fx->db, vm, &cursor, &r))
		undo_run(fx, vm, &r);
	cursor = 0;
	cr_assert_not(frames_vm_next(&fx->db, vm, &cursor, &r), "all undone");
	cr_assert_eq(frames_vm_destroy(&fx->db, vm), 0);
}

Test(frames, teardown_enumerates_everything)
{
	struct fixture fx;
	struct frames_run r;
	uint64_t cursor = 0, t[2];
	unsigned runs = 0;

	fx_init(&fx, NR);
	cr_assert_eq(do_alloc_at(&fx, VM_A, PA(0), 6, 0), 0);
	cr_assert_eq(do_share(&fx, VM_A, VM_B, PA(1), 1, FRAMES_PERM_R), 0);
	cr_assert_eq(do_share(&fx, VM_A, VM_C, PA(1), 1, FRAMES_PERM_RW), 0);
	cr_assert_eq(do_lend(&fx, VM_A, VM_B, PA(2), 2), 0);
	cr_assert_eq(do_alloc_at(&fx, VM_B, PA(8), 3, 0), 0);
	cr_assert_eq(do_share(&fx, VM_B, VM_A, PA(8), 1, FRAMES_PERM_R), 0);
	cr_assert_eq(do_lend(&fx, VM_B, VM_A, PA(9), 1), 0);
	cr_assert_eq(do_table(&fx, VM_A, 2, t), 0);
	cr_assert_eq(do_assign(&fx, VM_A, DEV, 2), 0);
	while (frames_vm_next(&fx.db, VM_A, &cursor, &r))
		runs++;
	/* owned 0, shared 1, lent 2-3, owned 4-5, borrowed 8, lent-in 9,
	 * tables 62-63, device. */
	cr_assert_eq(runs, 8);
	teardown(&fx, VM_A);
	teardown(&fx, VM_B);
	teardown(&fx, VM_C);
	cr_assert_eq(frames_guest_held(&fx.db), 0, "no frame leaks");
	cr_assert_eq(frames_count(&fx.db, EXO_FRAME_FREE), NR - HOLE_N);
	fx_fini(&fx);
}

/* --- random operations against a reference model ---------------------------
 * The model keeps plain per-frame arrays and recomputes each verdict from
 * the rules in docs/memory-model.md; after every operation the DB must
 * agree with it frame by frame, VM by VM. */

#define M_VMS 6          /* ids 0..5: 1..4 live, 0 (EL2) and 5 refused */
#define M_LIVE 4
#define M_OPS 5000
#define M_SEEDS 24

enum m_op {
	M_ALLOC, M_ALLOC_AT, M_FREE, M_SHARE, M_UNSHARE, M_LEND, M_RECLAIM,
	M_DONATE, M_TABLE, M_TABLE_FREE, NR_M_OPS
};

struct model {
	uint8_t state[NR], owner[NR], peer[NR];
	uint64_t borrowers[NR], rw[NR];
	uint64_t quota[M_VMS], used[M_VMS], peak[M_VMS], tables[M_VMS];
	uint64_t borrowed[M_VMS];
	unsigned shares_used;
};

struct m_args {
	enum m_op op;
	unsigned vm, peer, perm, nt, align;
	uint64_t pa, count;
};

static uint64_t rng;

static uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? rng % n : 0;
}

static bool m_live(unsigned vm)
{
	return vm >= 1 && vm <= M_LIVE;
}

static int m_range(uint64_t pa, uint64_t count, uint64_t *first)
{
	if (!count)
		return EXO_EINVAL;
	if (pa % FRAMES_SIZE || pa < BASE || (pa - BASE) / FRAMES_SIZE >= NR)
		return EXO_ERANGE;
	*first = (pa - BASE) / FRAMES_SIZE;
	return count > NR - *first ? EXO_ERANGE : EXO_OK;
}

static int m_verdict(const struct model *m, const struct m_args *a,
		     uint64_t i)
{
	unsigned st = m->state[i];
	bool has_peer = m->borrowers[i] & (UINT64_C(1) << a->peer);

	if (st == EXO_FRAME_NONE)
		return EXO_ERANGE;
	if (a->op == M_ALLOC_AT)
		return st == EXO_FRAME_FREE ? 0 : st == EXO_FRAME_HYP ?
					      EXO_EHYP : EXO_EBUSY;
	if (a->op == M_TABLE_FREE)
		return st != EXO_FRAME_HYP ? EXO_ESTATE :
		       m->owner[i] == a->vm ? 0 : EXO_EPERM;
	if (st == EXO_FRAME_FREE)
		return EXO_EPERM;
	if (st == EXO_FRAME_HYP)
		return EXO_EHYP;
	if (m->owner[i] != a->vm)
		return EXO_EPERM;
	switch (a->op) {
	case M_SHARE:
		if (st == EXO_FRAME_LENT)
			return EXO_ELENT;
		return st == EXO_FRAME_SHARED && has_peer ? EXO_ESTATE : 0;
	case M_UNSHARE:
		if (st == EXO_FRAME_LENT)
			return EXO_ELENT;
		return st == EXO_FRAME_SHARED && has_peer ? 0 : EXO_ESTATE;
	case M_RECLAIM:
		return st == EXO_FRAME_LENT && m->peer[i] == a->peer ? 0 :
								       EXO_ESTATE;
	default:
		if (st == EXO_FRAME_SHARED)
			return EXO_ESHARED;
		return st == EXO_FRAME_LENT ? EXO_ELENT : 0;
	}
}

static int m_frames(const struct model *m, const struct m_args *a,
		    uint64_t *first)
{
	int rc = m_range(a->pa, a->count, first);

	for (uint64_t i = 0; !rc && i < a->count; i++)
		rc = m_verdict(m, a, *first + i);
	return rc;
}

static bool m_fits(const struct model *m, unsigned vm, uint64_t n)
{
	return n <= m->quota[vm] - m->used[vm];
}

/* Reference first fit over PA alignment, then table frames from the top. */
static bool m_run(const struct model *m, uint64_t count, unsigned align,
		  uint64_t *first)
{
	for (uint64_t i = 0; count <= NR && i + count <= NR; i++) {
		uint64_t j = 0;

		if ((PA(i) >> FRAMES_SHIFT) % (UINT64_C(1) << align))
			continue;
		while (j < count && m->state[i + j] == EXO_FRAME_FREE)
			j++;
		if (j == count) {
			*first = i;
			return true;
		}
	}
	return false;
}

static unsigned m_tables(const struct model *m, unsigned n, uint64_t skip,
			 uint64_t skip_n, uint64_t *out)
{
	unsigned got = 0;

	for (uint64_t i = NR; i-- > 0 && got < n;)
		if (m->state[i] == EXO_FRAME_FREE &&
		    !(i >= skip && i < skip + skip_n))
			out[got++] = i;
	return got;
}

/* Expected status; *first and tab[] say where, for the apply step. */
static int m_expect(const struct model *m, const struct m_args *a,
		    uint64_t *first, uint64_t *tab)
{
	bool pair = a->op != M_ALLOC && a->op != M_ALLOC_AT &&
		    a->op != M_FREE && a->op != M_TABLE &&
		    a->op != M_TABLE_FREE;
	bool takes_nt = a->op != M_FREE && a->op != M_UNSHARE &&
			a->op != M_RECLAIM && a->op != M_TABLE_FREE &&
			a->op != M_ALLOC_AT;   /* judged after its range */
	unsigned charged = pair ? a->peer : a->vm;
	uint64_t shares = 0, n = a->count;
	int rc;

	*first = 0;
	if (!m_live(a->vm) || (pair && !m_live(a->peer)))
		return EXO_ENOENT;
	if (pair && a->vm == a->peer)
		return EXO_EINVAL;
	if ((takes_nt && a->nt > FRAMES_OP_MAX_TABLES) ||
	    (a->op == M_SHARE && a->perm != FRAMES_PERM_R &&
	     a->perm != FRAMES_PERM_RW) ||
	    (a->op == M_TABLE && !a->nt))
		return EXO_EINVAL;
	switch (a->op) {
	case M_ALLOC:
		if (!n || a->align > FRAMES_MAX_ALIGN_LOG2)
			return EXO_EINVAL;
		if (n > m->quota[a->vm] - m->used[a->vm] ||
		    !m_fits(m, a->vm, n + a->nt))
			return EXO_EQUOTA;
		if (!m_run(m, n, a->align, first))
			return EXO_ENOMEM;
		return m_tables(m, a->nt, *first, n, tab) == a->nt ? 0
								   : EXO_ENOMEM;
	case M_TABLE:
		if (!m_fits(m, a->vm, a->nt))
			return EXO_EQUOTA;
		return m_tables(m, a->nt, 0, 0, tab) == a->nt ? 0 : EXO_ENOMEM;
	case M_TABLE_FREE:
		return m_frames(m, a, first);
	default:
		break;
	}
	rc = m_frames(m, a, first);
	if (rc || a->op == M_FREE || a->op == M_UNSHARE ||
	    a->op == M_RECLAIM)
		return rc;
	if (a->op == M_ALLOC_AT && !m_fits(m, a->vm, n))
		return EXO_EQUOTA;
	if (a->op == M_ALLOC_AT && a->nt > FRAMES_OP_MAX_TABLES)
		return EXO_EINVAL;
	if (!m_fits(m, charged,
		    (a->op == M_ALLOC_AT || a->op == M_DONATE ? n : 0) + a->nt))
		return EXO_EQUOTA;
	for (uint64_t i = 0; a->op == M_SHARE && i < n; i++)
		shares += m->state[*first + i] == EXO_FRAME_OWNED;
	if (m->shares_used + shares > SHARES)
		return EXO_ENOMEM;
	return m_tables(m, a->nt, a->op == M_ALLOC_AT ? *first : 0,
			a->op == M_ALLOC_AT ? n : 0, tab) == a->nt ? 0
								  : EXO_ENOMEM;
}

static void m_charge(struct model *m, unsigned vm, int64_t n)
{
	m->used[vm] += (uint64_t)n;
	if (m->used[vm] > m->peak[vm])
		m->peak[vm] = m->used[vm];
}

static void m_set(struct model *m, uint64_t i, unsigned st, unsigned owner,
		  unsigned peer)
{
	m->state[i] = (uint8_t)st;
	m->owner[i] = (uint8_t)owner;
	m->peer[i] = (uint8_t)peer;
}

static void m_frame_apply(struct model *m, const struct m_args *a,
			  uint64_t i)
{
	uint64_t bit = UINT64_C(1) << a->peer;

	switch (a->op) {
	case M_ALLOC:
	case M_ALLOC_AT:
	case M_RECLAIM:
		m_set(m, i, EXO_FRAME_OWNED, a->vm, 0);
		break;
	case M_FREE:
	case M_TABLE_FREE:
		m_set(m, i, EXO_FRAME_FREE, 0, 0);
		break;
	case M_LEND:
		m_set(m, i, EXO_FRAME_LENT, a->vm, a->peer);
		break;
	case M_DONATE:
		m_set(m, i, EXO_FRAME_OWNED, a->peer, 0);
		break;
	case M_SHARE:
		m->shares_used += m->state[i] == EXO_FRAME_OWNED;
		m_set(m, i, EXO_FRAME_SHARED, a->vm, 0);
		m->borrowers[i] |= bit;
		m->rw[i] |= a->perm == FRAMES_PERM_RW ? bit : 0;
		break;
	case M_UNSHARE:
		m->borrowers[i] &= ~bit;
		m->rw[i] &= ~bit;
		if (!m->borrowers[i]) {
			m->shares_used--;
			m_set(m, i, EXO_FRAME_OWNED, a->vm, 0);
		}
		break;
	default:
		break;
	}
}

static void m_apply(struct model *m, const struct m_args *a, uint64_t first,
		    const uint64_t *tab)
{
	bool lend_like = a->op == M_SHARE || a->op == M_LEND ||
			 a->op == M_DONATE;
	unsigned tvm = lend_like ? a->peer : a->vm;
	uint64_t n = a->op == M_TABLE ? 0 : a->count;

	for (uint64_t i = 0; i < n; i++)
		m_frame_apply(m, a, first + i);
	for (unsigned t = 0; t < a->nt && a->op != M_TABLE_FREE; t++)
		m_set(m, tab[t], EXO_FRAME_HYP, tvm, 0);
	if (a->op != M_TABLE_FREE)
		m_charge(m, tvm, a->nt), m->tables[tvm] += a->nt;
	if (a->op == M_ALLOC || a->op == M_ALLOC_AT)
		m_charge(m, a->vm, (int64_t)n);
	if (a->op == M_FREE)
		m_charge(m, a->vm, -(int64_t)n);
	if (a->op == M_DONATE)
		m_charge(m, a->vm, -(int64_t)n), m_charge(m, a->peer, (int64_t)n);
	if (a->op == M_TABLE_FREE)
		m_charge(m, a->vm, -1), m->tables[a->vm]--;
	if (a->op == M_SHARE || a->op == M_LEND)
		m->borrowed[a->peer] += n;
	if (a->op == M_UNSHARE || a->op == M_RECLAIM)
		m->borrowed[a->peer] -= n;
}

static int db_run(struct fixture *fx, const struct m_args *a,
		  struct frames_op *op)
{
	const struct frames_db *db = &fx->db;

	switch (a->op) {
	case M_ALLOC:
		return frames_alloc_check(db, a->vm, a->count, a->align, a->nt,
					  op);
	case M_ALLOC_AT:
		return frames_alloc_at_check(db, a->vm, a->pa, a->count, a->nt,
					     op);
	case M_FREE:
		return frames_free_check(db, a->vm, a->pa, a->count, 0, op);
	case M_SHARE:
		return frames_share_check(db, a->vm, a->peer, a->pa, a->count,
					  a->perm, a->nt, op);
	case M_UNSHARE:
		return frames_unshare_check(db, a->vm, a->peer, a->pa,
					    a->count, 0, op);
	case M_LEND:
		return frames_lend_check(db, a->vm, a->peer, a->pa, a->count,
					 (struct frames_tables){ 0, a->nt },
					 op);
	case M_RECLAIM:
		return frames_reclaim_check(db, a->vm, a->peer, a->pa,
					    a->count, (struct frames_tables){ 0, 0 },
					    op);
	case M_DONATE:
		return frames_donate_check(db, a->vm, a->peer, a->pa,
					   a->count,
					   (struct frames_tables){ 0, a->nt },
					   op);
	case M_TABLE:
		return frames_table_check(db, a->vm, a->nt, op);
	case M_TABLE_FREE:
	default:
		return frames_table_free_check(db, a->vm, a->pa, op);
	}
}

typedef void (*commit_fn)(struct frames_db *, const struct frames_op *);

static const commit_fn db_commit[NR_M_OPS] = {
	frames_alloc_commit, frames_alloc_commit, frames_free_commit,
	frames_share_commit, frames_unshare_commit, frames_lend_commit,
	frames_reclaim_commit, frames_donate_commit, frames_table_commit,
	frames_table_free_commit,
};

static uint64_t rnd_pa(void)
{
	switch (rnd(40)) {
	case 0:
		return BASE + rnd(NR * FRAMES_SIZE);  /* mostly unaligned */
	case 1:
		return UINT64_MAX - FRAMES_SIZE * rnd(4) - 0xfff;
	case 2:
		return BASE - FRAMES_SIZE * (1 + rnd(2));
	default:
		return PA(rnd(NR + 2));
	}
}

static uint64_t rnd_count(void)
{
	switch (rnd(50)) {
	case 0:
		return 0;
	case 1:
		return UINT64_MAX >> rnd(16);
	default:
		return 1 + rnd(rnd(4) ? 3 : 12);
	}
}

/* Half the time, aim at a frame a->vm owns (and its borrower), so that
 * the legal transitions happen as often as the refusals. */
static void aim(const struct model *m, struct m_args *a)
{
	uint64_t start = rnd(NR);

	for (uint64_t k = 0; k < NR; k++) {
		uint64_t i = (start + k) % NR;

		if (m->owner[i] != a->vm || m->state[i] < EXO_FRAME_OWNED)
			continue;
		a->pa = PA(i);
		if (m->state[i] == EXO_FRAME_LENT)
			a->peer = m->peer[i];
		for (unsigned h = 1; h <= M_LIVE; h++)
			if (m->borrowers[i] & (UINT64_C(1) << h) && rnd(2))
				a->peer = h;
		return;
	}
}

static struct m_args rnd_args(const struct model *m)
{
	struct m_args a = {
		.op = (enum m_op)rnd(NR_M_OPS),
		.vm = rnd(30) ? 1 + rnd(M_LIVE) : rnd(M_VMS),
		.peer = rnd(30) ? 1 + rnd(M_LIVE) : rnd(M_VMS),
		.perm = rnd(30) ? 1 + rnd(2) : rnd(4),
		.nt = rnd(40) ? rnd(3) : FRAMES_OP_MAX_TABLES + rnd(2),
		.align = rnd(30) ? rnd(4) : FRAMES_MAX_ALIGN_LOG2 + rnd(2),
		.pa = rnd_pa(),
		.count = rnd_count(),
	};
	if (a.op == M_TABLE_FREE || a.op == M_TABLE)
		a.count = a.op == M_TABLE_FREE;
	/* These take no table frames. */
	if (a.op == M_FREE || a.op == M_UNSHARE || a.op == M_RECLAIM ||
	    a.op == M_TABLE_FREE)
		a.nt = 0;
	if (a.op != M_ALLOC && a.op != M_TABLE && rnd(2))
		aim(m, &a);
	return a;
}

static enum frames_access m_access(const struct model *m, uint64_t i,
				   unsigned vm)
{
	uint64_t bit = UINT64_C(1) << vm;

	switch (m->state[i]) {
	case EXO_FRAME_OWNED:
		return m->owner[i] == vm ? FRAMES_ACCESS_RW : FRAMES_ACCESS_NONE;
	case EXO_FRAME_SHARED:
		if (m->owner[i] == vm)
			return FRAMES_ACCESS_RW;
		if (!(m->borrowers[i] & bit))
			return FRAMES_ACCESS_NONE;
		return m->rw[i] & bit ? FRAMES_ACCESS_RW : FRAMES_ACCESS_R;
	case EXO_FRAME_LENT:
		return m->peer[i] == vm ? FRAMES_ACCESS_RW : FRAMES_ACCESS_NONE;
	default:
		return FRAMES_ACCESS_NONE;
	}
}

static void m_compare(struct fixture *fx, const struct model *m,
		      unsigned seed, int step)
{
	for (uint64_t i = 0; i < NR; i++) {
		struct frames_info f;

		cr_assert_eq(frames_query(&fx->db, PA(i), &f), 0);
		cr_assert(f.state == m->state[i] && f.owner == m->owner[i] &&
			  f.peer == m->peer[i] &&
			  share_bits(&f.share, false) == m->borrowers[i] &&
			  share_bits(&f.share, true) == m->rw[i],
			  "seed %u step %d: frame %lu is %d/%u, model %u/%u",
			  seed, step, (unsigned long)i, f.state, f.owner,
			  m->state[i], m->owner[i]);
		for (unsigned vm = 0; vm < M_VMS; vm++)
			cr_assert_eq(frames_access(&fx->db, vm, PA(i)),
				     m_access(m, i, vm),
				     "seed %u step %d: access", seed, step);
	}
	for (unsigned vm = 1; vm <= M_LIVE; vm++) {
		const struct frames_account *acc = frames_account(&fx->db, vm);

		cr_assert(acc->used == m->used[vm] &&
			  acc->peak == m->peak[vm] &&
			  acc->tables == m->tables[vm] &&
			  acc->borrowed == m->borrowed[vm],
			  "seed %u step %d: VM %u account", seed, step, vm);
	}
}

static void m_init(struct fixture *fx, struct model *m)
{
	static const uint64_t quota[M_VMS] = { 0, 12, 24, 8, NR, 0 };

	fx_init(fx, 0);
	memset(m, 0, sizeof(*m));
	for (unsigned vm = 1; vm <= M_LIVE; vm++) {
		cr_assert_eq(frames_vm_destroy(&fx->db, vm), vm <= VM_C ?
			     0 : EXO_ENOENT);
		cr_assert_eq(frames_vm_create(&fx->db, vm, quota[vm]), 0);
		m->quota[vm] = quota[vm];
	}
	for (uint64_t i = 0; i < NR; i++)
		m->state[i] = i >= HOLE && i < HOLE + HOLE_N ? EXO_FRAME_NONE
							     : EXO_FRAME_FREE;
}

static void m_step(struct fixture *fx, struct model *m, unsigned seed,
		   int step)
{
	struct m_args a = rnd_args(m);
	uint64_t first, tab[FRAMES_OP_MAX_TABLES + 2];
	static uint64_t reserved[FRAMES_OP_MAX_TABLES * 2];
	struct frames_op op;
	struct snap s;
	int want = m_expect(m, &a, &first, tab), rc;

	snap_take(fx, &s);
	rc = db_run(fx, &a, &op);
	cr_assert_eq(rc, want, "seed %u step %d: op %d vm %u peer %u pa %#lx "
		     "count %#lx: got %d, model %d", seed, step, a.op, a.vm,
		     a.peer, (unsigned long)a.pa, (unsigned long)a.count, rc,
		     want);
	cr_assert(snap_same(fx, &s), "seed %u step %d: check wrote", seed,
		  step);
	if (rc)
		return;
	if (a.op == M_ALLOC)
		cr_assert_eq(op.pa, PA(first), "seed %u step %d: run", seed,
			     step);
	if (a.op != M_TABLE_FREE)
		cr_assert_eq(op_tables(&fx->db, &op, reserved, NULL), a.nt);
	for (unsigned t = 0; t < a.nt && a.op != M_TABLE_FREE; t++)
		cr_assert_eq(reserved[t], PA(tab[t]),
			     "seed %u step %d: table", seed, step);
	db_commit[a.op](&fx->db, &op);
	m_apply(m, &a, first, tab);
}

Test(frames, random_operations_match_the_model)
{
	static struct fixture fx;
	static struct model m;
	unsigned ok = 0;

	for (unsigned seed = 1; seed <= M_SEEDS; seed++) {
		rng = UINT64_C(0x9e3779b97f4a7c15) * seed;
		m_init(&fx, &m);
		for (int step = 0; step < M_OPS; step++) {
			m_step(&fx, &m, seed, step);
			m_compare(&fx, &m, seed, step);
		}
		ok += frames_guest_held(&fx.db) > 0;
	}
	cr_assert_gt(ok, 0, "the sequences reached non-trivial states");
}
