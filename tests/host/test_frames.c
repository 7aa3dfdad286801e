/* el2/frames.c: the frame ownership DB, transition by transition, against
 * the boot self-test's table and against a reference model. */
#include "fake_arch.h"

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
	int rc = frames_free_check(&fx->db, vm, pa, count, &op);

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
	int rc = frames_unshare_check(&fx->db, vm, to, pa, count, &op);

	if (!rc)
		frames_unshare_commit(&fx->db, &op);
	return rc;
}

static int do_lend(struct fixture *fx, unsigned vm, unsigned to,
		   uint64_t pa, uint64_t count)
{
	struct frames_op op;
	int rc = frames_lend_check(&fx->db, vm, to, pa, count, 0, &op);

	if (!rc)
		frames_lend_commit(&fx->db, &op);
	return rc;
}

static int do_reclaim(struct fixture *fx, unsigned vm, unsigned to,
		      uint64_t pa, uint64_t count)
{
	struct frames_op op;
	int rc = frames_reclaim_check(&fx->db, vm, to, pa, count, &op);

	if (!rc)
		frames_reclaim_commit(&fx->db, &op);
	return rc;
}

static int do_donate(struct fixture *fx, unsigned vm, unsigned to,
		     uint64_t pa, uint64_t count, unsigned tables)
{
	struct frames_op op;
	int rc = frames_donate_check(&fx->db, vm, to, pa, count, tables, &op);

	if (!rc)
		frames_donate_commit(&fx->db, &op);
	return rc;
}

static int do_table(struct fixture *fx, unsigned vm, unsigned n,
		    uint64_t *pas)
{
	struct frames_op op;
	int rc = frames_table_check(&fx->db, vm, n, &op);

	if (!rc) {
		frames_table_commit(&fx->db, &op);
		memcpy(pas, op.tables, n * sizeof(*pas));
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
	cr_assert_eq(f.borrowers, (1u << VM_B) | (1u << VM_C));
	cr_assert_eq(f.rw, 1u << VM_C);
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
		for (unsigned h = 1; h < EXO_MAX_VMS; h++)
			if (f.borrowers & (UINT64_C(1) << h))
				cr_assert_eq(do_unshare(fx, vm, h, r->pa, 1), 0);
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
