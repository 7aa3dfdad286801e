/*
 * conflood: floods the shared console (issue 13, rule 6). First one line
 * of bytes a terminal would obey (ESC sequences, a C1 CSI, UTF-8, DEL),
 * which EL2 must show escaped; then FLOOD_LINES numbered lines as fast as
 * it can, far past its line budget, and a last line saying so.
 * tests/target/test_console.py checks that every line was
 * either printed or counted as dropped, that what got through is bounded
 * by the budget, and that a neighbour's lines were not lost.
 */
#include <el1/el1.h>
#include <exo/hypercall.h>
#include <lib/print.h>

#define FLOOD_LINES 20000u

int main(int argc, char **argv)
{
	(void)argc, (void)argv;
	kprintf("terminal: \x1b[2J\x1b]0;owned\x07\x9b" "31m\xc3\xa9\x7f end\n");
	for (unsigned i = 0; i < FLOOD_LINES; i++)
		kprintf("flood %u\n", i);
	kprintf("flood done: %u lines\n", FLOOD_LINES);
	return 0;
}
