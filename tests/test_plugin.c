/* test_plugin.c — ops from a shared library in every command (`--plugin`, a model file's
 * `plugins:`), the double-precision re-run finding the plugin's double build, and each
 * bad plugin refused in one line naming the file, exit 2. The plugins are built by
 * tests/CMakeLists.txt into plugins/: docs/examples/custom_op/swish.c for both scalar
 * types, and tests/plugins/bad.c three ways. */
#include "bptt_models.h"

#include "test_run_bptt.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define PLUGINS BPTT_BINARY_DIR "/plugins/"
#define SWISH PLUGINS "libswish.so"
#define SWISH_YAML BPTT_SOURCE_DIR "/docs/examples/custom_op/swish_rnn.yaml"

Test(plugin, every_command_sees_the_ops)
{
    cr_expect_eq(bptt("ops --plugin " SWISH), 0, "%s", out);
    cr_expect(strstr(out, "swish") && strstr(out, "y = x sigmoid(beta x)"), "%s", out);
    cr_expect_eq(bptt("train " SWISH_YAML " --steps 5 --quiet --plugin " SWISH), 0, "%s", out);
    cr_expect_eq(bptt("summary " SWISH_YAML " --plugin " SWISH), 0, "%s", out);
    cr_expect_eq(bptt("eval " SWISH_YAML " --plugin " SWISH), 0, "%s", out);
    cr_expect_eq(bptt("graph " SWISH_YAML " --steps 2 --plugin " SWISH), 0, "%s", out);
    cr_expect(strstr(out, "swish"), "%s", out);
    cr_expect_eq(bptt("gradflow " SWISH_YAML " --set data.steps=4 --plugin " SWISH), 0, "%s", out);
    cr_expect_eq(bptt("summary " SWISH_YAML), 2, "%s", out); /* without it: refused */
    cr_expect(strstr(out, "unknown op 'swish'"), "%s", out);
}

Test(plugin, gradcheck_runs_the_ops_own_check_in_double)
{
    /* bptt re-runs in bptt-f64, which passes --plugin on and loads libswish_f64.so */
    cr_expect_eq(bptt("gradcheck " SWISH_YAML " --set data.steps=5 --plugin " SWISH), 0, "%s",
                 out);
    cr_expect(strstr(out, "op swish: 4 cases, all passed"), "%s", out);
    cr_expect(strstr(out, "double precision") && strstr(out, "0 failed"), "%s", out);
    cr_expect_eq(bptt("gradcheck --ops --plugin " SWISH), 0, "%s", out);
    cr_expect(strstr(out, "\nswish ") && strstr(out, "all passed"), "%s", out);
}

Test(plugin, a_model_files_plugins_list)
{
    char dir[] = "/tmp/bptt_plugin_XXXXXX", cmd[512];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(cmd, sizeof cmd, "cp " SWISH " %s/ && printf 'plugins: [libswish.so]\\n' > %s/m.yaml"
             " && grep -v '^#' " SWISH_YAML " >> %s/m.yaml", dir, dir, dir);
    cr_assert_eq(system(cmd), 0);
    cr_expect_eq(bptt("summary %s/m.yaml", dir), 0, "%s", out); /* relative to the file */
    cr_expect_eq(bptt("summary %s/m.yaml --plugin %s/libswish.so", dir, dir), 0, "%s", out);
    snprintf(cmd, sizeof cmd, "sed -i 's/libswish.so/gone.so/' %s/m.yaml", dir);
    cr_assert_eq(system(cmd), 0);
    cr_expect_eq(bptt("summary %s/m.yaml", dir), 2, "%s", out);
    cr_expect(strstr(out, "m.yaml:1:11: plugin ") && strstr(out, "gone.so: cannot load"), "%s",
              out);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_expect_eq(system(cmd), 0);
}

/* One line on stderr, naming the file, and exit 2. */
static void refused(const char *plugin, const char *why)
{
    cr_expect_eq(bptt("ops --plugin %s", plugin), 2, "%s", out);
    cr_expect(strstr(out, plugin) && strstr(out, why), "%s\nwanted: %s", out, why);
    cr_expect_eq(strchr(out, '\n'), out + strlen(out) - 1, "one line: %s", out);
}

Test(plugin, bad_plugins_are_refused_naming_the_file)
{
    refused(PLUGINS "missing.so", "cannot load: ");
    refused(PLUGINS "libnoreg.so", "no registration function bptt_plugin_register_f32_v2");
    refused(PLUGINS "libold.so", "built against an older bptt (it defines "
            "bptt_plugin_register_f32, not bptt_plugin_register_f32_v2; the op descriptor has "
            "changed): rebuild it against this one");
    refused(PLUGINS "libdup.so", "registration failed: op 'tanh': the name is taken by a built-in");
    refused(PLUGINS "libbaddesc.so", "registration failed: op 'nobackward': missing its backward");
    refused(PLUGINS "libswish_f64.so", "built for bptt_f64 (double)");
    cr_expect_eq(bptt("ops --plugin"), 2, "%s", out);
    cr_expect(strstr(out, "--plugin needs a shared library"), "%s", out);
}

Test(plugin, from_c_the_double_build_loads_the_double_twin_once)
{
    bp_error err;
    cr_assert_eq(bp_plugin_load(SWISH, &err), BP_OK, "%s", err.msg); /* reads libswish_f64.so */
    cr_expect_not_null(bp_op_find("swish"));
    cr_expect_eq(bp_plugin_load(PLUGINS "libswish_f64.so", &err), BP_OK, "again: %s", err.msg);
    cr_expect_eq(bp_plugin_load(PLUGINS "libdup.so", &err), BP_ERR_VALUE, "%s", err.msg);
    cr_expect(strstr(err.msg, "built for bptt (float)"), "%s", err.msg);
}
