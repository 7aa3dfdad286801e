/*
 * The EL2 lock's state (el2/hyp_lock.h).
 */
#include <el2/hyp_lock.h>

bool hyp_lock_on;
struct spinlock hyp_lock_word = SPINLOCK_INIT;

void hyp_lock_enable(void)
{
	hyp_lock_on = true;
}
