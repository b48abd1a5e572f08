/* test_badinput_replay_st.c — every input in tests/data/fuzz/safetensors/ replayed through
 * the fuzz target itself (tests/fuzz/fuzz_safetensors.c) in the ordinary build, plus
 * files bptt writes: each must load or fail with a message, never crash. */
#include "fuzz/fuzz_safetensors.c"

#include "test_replay.h"

#include <unistd.h>

Test(replay, safetensors_inputs_load_or_fail_with_a_message)
{
    LLVMFuzzerInitialize(NULL, NULL);
    cr_expect_gt(replay_folder(BPTT_SOURCE_DIR "/tests/data/fuzz/safetensors"), 0);
    /* a checkpoint and a batch of the very model the target loads into */
    bp_error err;
    char ck[160];
    snprintf(ck, sizeof ck, "%s/ck.safetensors", dir);
    cr_assert_eq(bp_trainer_save(trainer, ck, &err), BP_OK, "%s", err.msg);
    replay_file(ck);
    unlink(ck);
}
