// libFuzzer's entry point for a program that has its own main (compiler-rt's FuzzerInterface.h).
// SwiftPM links an executable with main defined as its module's own entry point, so libFuzzer's
// main never runs: each harness starts the driver from its own.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
