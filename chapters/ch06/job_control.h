/* job_control.h - measure runs its command as a shell runs a job
 *
 * Part of measure.c, kept apart because it is not about measuring: the
 * command's process group has the terminal while it runs (so Ctrl-C, Ctrl-Z
 * and reading reach it), measure stops when it stops and takes the terminal
 * back afterwards, and an INT, TERM or HUP sent to measure is passed on to the
 * group. The handler only notes such a signal; measure's wait loop passes it
 * on. Linux, C17.
 */
#ifndef JOB_CONTROL_H
#define JOB_CONTROL_H
#include "workbook.h"

#include <signal.h>
#include <sys/wait.h>

/* The signals for measure that are for the command too (kill, timeout, a
 * hang-up), and which of them came and are not passed on yet. */
static const int passed_on[] = {SIGINT, SIGTERM, SIGHUP};
#define PASSED_ON (sizeof passed_on / sizeof passed_on[0])
static volatile sig_atomic_t noted[NSIG];

/* A handler only sets a flag: the wait loop does the rest. */
static inline void note(int sig)
{
    noted[sig] = 1;
}

/* Block SIGTTOU for good, else a group in the background may not move the
 * terminal; block the signals passed on until the wait, which lets them in
 * with *waiting: one that comes then cuts the wait short, and none can slip
 * in between a look at the flags and the wait. *original: the mask measure
 * started with, the command's. */
static inline void block_signals(sigset_t *original, sigset_t *waiting)
{
    sigset_t blocked;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGTTOU);
    for (size_t k = 0; k < PASSED_ON; k++)
        sigaddset(&blocked, passed_on[k]);
    if (sigprocmask(SIG_BLOCK, &blocked, original) == -1)
        wb_die("sigprocmask");

    *waiting = *original;
    sigaddset(waiting, SIGTTOU);
}

/* From now on the signals passed on are noted, no longer fatal to measure. */
static inline void note_signals(void)
{
    struct sigaction sa = {.sa_handler = note};
    sigemptyset(&sa.sa_mask);
    for (size_t k = 0; k < PASSED_ON; k++)
        if (sigaction(passed_on[k], &sa, NULL) == -1)
            wb_die("sigaction");
}

/* Send what came on to the command's group. It is there until measure reaps
 * the command; a group that changed its user (a set-user-ID program) may
 * refuse, and then measure says so and goes on waiting. */
static inline void pass_on_signals(pid_t command)
{
    for (size_t k = 0; k < PASSED_ON; k++) {
        int sig = passed_on[k];
        if (!noted[sig])
            continue;

        noted[sig] = 0;
        if (kill(-command, sig) == -1)
            fprintf(stderr, "%s: passing on %s: %s\n", program_invocation_short_name,
                    strsignal(sig), strerror(errno));
    }
}

/* Make group `to` the terminal's foreground if group `from` has it now (stdin
 * is a terminal and measure runs in the foreground). It can fail only when
 * the terminal hangs up or group `to` ends just then: measure says so, and
 * the run goes on (the terminal has no one else to go to). */
static inline void hand_terminal(pid_t from, pid_t to)
{
    if (tcgetpgrp(STDIN_FILENO) != from)
        return;
    if (tcsetpgrp(STDIN_FILENO, to) == -1)
        fprintf(stderr, "%s: tcsetpgrp: %s\n", program_invocation_short_name,
                strerror(errno));
}

/* Ctrl-Z stopped the command: stop measure too, so that the shell takes the
 * terminal back; when it is continued (fg), hand the terminal on again and
 * continue the command (SIGCONT may be sent to any process of the session). */
static inline void follow_stop(pid_t command, pid_t own_group)
{
    /* si_pid stays 0 if it runs; waitid fails once it has ended (ECHILD) */
    siginfo_t info = {0};
    if (waitid(P_PID, (id_t)command, &info, WSTOPPED | WNOHANG) == -1 ||
        info.si_pid == 0)
        return;

    hand_terminal(command, own_group);
    raise(SIGTSTP);
    hand_terminal(own_group, command);
    kill(-command, SIGCONT);
}

#endif
