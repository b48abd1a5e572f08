/* test_badinput_replay_npy.c — every input in tests/data/fuzz/npy/ replayed through the
 * fuzz target itself (tests/fuzz/fuzz_npy.c) in the ordinary build, plus a file
 * bp_npy_save writes: each must parse or fail with a message, never crash. */
#include "fuzz/fuzz_npy.c"

#include "test_replay.h"

Test(replay, npy_inputs_parse_or_fail_with_a_message)
{
    LLVMFuzzerInitialize(NULL, NULL);
    cr_expect_gt(replay_folder(BPTT_SOURCE_DIR "/tests/data/fuzz/npy"), 0);
    char saved[160];
    snprintf(saved, sizeof saved, "%s/saved.npy", dir);
    const double v[6] = {1, -2, 3.5, 0, 1e300, -1e-300};
    bp_error err;
    cr_assert_eq(bp_npy_save(saved, BP_DTYPE_F64, bp_shape2(2, 3), v, &err), BP_OK, "%s", err.msg);
    replay_file(saved);
    unlink(saved);
}
