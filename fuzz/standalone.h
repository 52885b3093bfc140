/* standalone.h - a main() for fuzz targets built without libFuzzer (-DFUZZ_STANDALONE):
 * runs LLVMFuzzerTestOneInput once on each file named on the command line, so a
 * crashing input can be replayed under gdb or valgrind with any compiler.
 * Included at the end of a fuzz_*.c file, after its LLVMFuzzerTestOneInput. */
#ifdef FUZZ_STANDALONE
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f)
            continue;
        static uint8_t buf[1 << 20];
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
    }
    return 0;
}
#endif
