/* ptracer_any.c - let a debugger attach to this process, wherever it started
 *
 * Used by: tests/exercises/grade, where Yama's ptrace_scope is 1. There only
 *          a process's ancestors may attach to it with ptrace, and the gdb
 *          that takes a hung program's backtrace (autopsy.py) is not one.
 *          The grader's timeout asks for an exception in the process it
 *          starts (prctl PR_SET_PTRACER), but a test often starts the
 *          program through a shell (`bash -c '"$PROG" | head'`), and the
 *          exception does not pass to children. Loaded into every process
 *          of a suite (LD_PRELOAD), this asks for it in each.
 * How: a constructor, run before main(), calls
 *      prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY). Nothing else changes.
 */
#include <sys/prctl.h>

#ifndef PR_SET_PTRACER
#define PR_SET_PTRACER 0x59616d61
#endif
#ifndef PR_SET_PTRACER_ANY
#define PR_SET_PTRACER_ANY ((unsigned long)-1)
#endif

__attribute__((constructor)) static void allow_any_tracer(void)
{
    /* fails with EINVAL where there is no Yama: nothing to ask for, then */
    prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
}
