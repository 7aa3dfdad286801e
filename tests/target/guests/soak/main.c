/*
 * soak: argument parsing and the choice of role (soak.h says what the
 * roles do). A storm guest's life number is /chosen/exo,restarts: EL2
 * counts the SYSTEM_RESETs, so a restarted guest knows which life it is
 * in although its memory is fresh.
 *
 * Owns: argv -> struct soak_args; the life number.
 * Never: runs a storm or measures anything itself.
 */
#include <el1/el1.h>
#include <exo/guest_dt.h>
#include <lib/print.h>
#include <libfdt.h>
#include <libos/mm/mm.h>
#include <stdlib.h>
#include <string.h>

#include "soak.h"

#define NO_LIFE 0xffffffffu

void soak_storm_name(unsigned i, char name[8])
{
	memcpy(name, "storm", 5);
	name[5] = (char)('0' + i % 10);
	name[6] = '\0';
}

static unsigned life_number(void)
{
	const void *fdt = libos_dmap_phys_to_virt(el1_boot_info()->dtb);
	int node = fdt_path_offset(fdt, EXO_DT_CHOSEN), len;
	const fdt32_t *v = fdt_getprop(fdt, node, EXO_DT_RESTARTS, &len);

	return (v && len == 4) ? fdt32_to_cpu(*v) : NO_LIFE;
}

/* "--key=value" -> value, or NULL when arg is another option. */
static const char *option(const char *arg, const char *key)
{
	size_t n = strlen(key);

	return strncmp(arg, key, n) ? NULL : arg + n;
}

static void parse_one(struct soak_args *a, const char *arg)
{
	const char *v;

	if (!strcmp(arg, "--storm"))
		a->storm = true;
	else if (!strcmp(arg, "--victim"))
		a->victim = true;
	else if ((v = option(arg, "--seed=")))
		a->seed = strtoul(v, NULL, 0);
	else if ((v = option(arg, "--rounds=")))
		a->rounds = strtoul(v, NULL, 0);
	else if ((v = option(arg, "--lives=")))
		a->lives = (unsigned)strtoul(v, NULL, 0);
	else if ((v = option(arg, "--storms=")))
		a->storms = (unsigned)strtoul(v, NULL, 0);
	else if ((v = option(arg, "--slice-us=")))
		a->slice_us = strtoul(v, NULL, 0);
	else
		kprintf("soak: FAIL unknown argument '%s'\n", arg);
}

static bool args_valid(const struct soak_args *a)
{
	return a->storm != a->victim && a->rounds && a->lives &&
	       a->storms >= 2 && a->storms <= SOAK_STORMS_MAX && a->slice_us;
}

int main(int argc, char **argv)
{
	struct soak_args a = { .name = argv[0] };
	unsigned life = life_number();

	for (int i = 1; i < argc; i++)
		parse_one(&a, argv[i]);
	if (!args_valid(&a) || life == NO_LIFE) {
		kprintf("soak: FAIL usage: --storm|--victim --seed=S --rounds=R "
			"--lives=L --storms=N (2-%u) --slice-us=U\n",
			SOAK_STORMS_MAX);
		return 2;
	}
	return a.storm ? soak_storm(&a, life) : soak_victim(&a);
}

EL1_GUEST_OPTIONS("--storm", "--victim", "--seed=", "--rounds=", "--lives=",
		  "--storms=", "--slice-us=");
