/*
 * The options a guest reads when it declares none (el1/el1.h,
 * EL1_GUEST_OPTIONS): an empty list, weak, so a guest's declaration
 * replaces it at link time. Alone in its file so no compiler folds the
 * default into the code that reads the list.
 */
#include <el1/el1.h>

__attribute__((weak)) const char *const el1_guest_options[] = { NULL };
