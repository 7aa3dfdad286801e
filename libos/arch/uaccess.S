/*
 * User-memory accessors for the library OS (libos/arch.h): byte copies with
 * LDTRB/STTRB, so EL0's permissions are checked and PAN does not apply. A
 * fault on a user access (libos/mm/fault.c asks libos_arch_uaccess_fixup)
 * resumes at uaccess_fault with x2 = bytes left, which is returned. Leaf
 * functions: no stack, x30 untouched, so the fixup may simply return.
 */
	.text
	.balign	4

/* uint64_t libos_arch_copy_from_user(void *dst, uint64_t usrc, uint64_t n) */
	.global	libos_arch_copy_from_user
	.type	libos_arch_copy_from_user, %function
libos_arch_copy_from_user:
	cbz	x2, 2f
1:
uaccess_from:
	ldtrb	w3, [x1]
	strb	w3, [x0], #1
	add	x1, x1, #1
	subs	x2, x2, #1
	b.ne	1b
2:	mov	x0, x2
	ret
	.size	libos_arch_copy_from_user, . - libos_arch_copy_from_user

/* uint64_t libos_arch_copy_to_user(uint64_t udst, const void *src, uint64_t n) */
	.global	libos_arch_copy_to_user
	.type	libos_arch_copy_to_user, %function
libos_arch_copy_to_user:
	cbz	x2, 2f
1:	ldrb	w3, [x1], #1
uaccess_to:
	sttrb	w3, [x0]
	add	x0, x0, #1
	subs	x2, x2, #1
	b.ne	1b
2:	mov	x0, x2
	ret
	.size	libos_arch_copy_to_user, . - libos_arch_copy_to_user

uaccess_fault:
	mov	x0, x2
	ret

/* uint64_t libos_arch_uaccess_fixup(uint64_t pc) */
	.global	libos_arch_uaccess_fixup
	.type	libos_arch_uaccess_fixup, %function
libos_arch_uaccess_fixup:
	adr	x1, uaccess_from
	cmp	x0, x1
	b.eq	1f
	adr	x1, uaccess_to
	cmp	x0, x1
	b.eq	1f
	mov	x0, #0
	ret
1:	adr	x0, uaccess_fault
	ret
	.size	libos_arch_uaccess_fixup, . - libos_arch_uaccess_fixup
