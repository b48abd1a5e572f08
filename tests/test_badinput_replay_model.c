/* test_badinput_replay_model.c — every input in tests/data/fuzz/model/ (inputs the fuzzer
 * once flagged, and any crash it finds from now on) and every shipped model, replayed
 * through the fuzz target itself (tests/fuzz/fuzz_model.c) in the ordinary build: each
 * must end in a result or an error with a message, never a crash. */
#include "fuzz/fuzz_model.c"

#include "test_replay.h"

Test(replay, model_inputs_end_in_a_result_or_a_message)
{
    LLVMFuzzerInitialize(NULL, NULL);
    cr_expect_gt(replay_matching(BPTT_SOURCE_DIR "/tests/data/fuzz/model", ""), 0);
    cr_expect_gt(replay_matching(BPTT_SOURCE_DIR "/models", ".yaml"), 0);
    cr_expect_gt(replay_matching(BPTT_SOURCE_DIR "/tests/fuzz/seeds", ".yaml"), 0);
}
