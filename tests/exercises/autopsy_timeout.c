/* autopsy_timeout.c - coreutils' timeout, with a look inside before the kill
 *
 * Used by: tests/exercises/grade, which builds it as grade/bin/timeout and
 *          puts that folder first in the suites' PATH, so every
 *          `timeout 20 "$PROG" ...` of an exercise suite runs through it.
 * Usage:   timeout [--foreground] [--preserve-status] [-k DUR] [-s SIG]
 *                  DURATION COMMAND [ARG]...   (as coreutils' timeout)
 * What:    runs COMMAND and waits. When DURATION has passed and COMMAND is
 *          still running, it first runs the autopsy ($GRADE_AUTOPSY_TOOL:
 *          a backtrace of every thread of the hung program, written under
 *          $GRADE_AUTOPSY_DIR), then does what timeout does: sends the
 *          signal, then SIGKILL after -k, and exits 124 (137 after SIGKILL).
 *          Anything it does not understand goes to the real timeout.
 * Ptrace:  where Yama restricts ptrace (ptrace_scope 1), only an ancestor
 *          may attach to a process, and gdb is not one. So the child asks,
 *          before it runs COMMAND, that anyone may attach to it
 *          (prctl PR_SET_PTRACER). Processes COMMAND starts in turn
 *          (a shell's pipeline) do not inherit it: ptracer_any.c asks in
 *          each of them, where the grader preloads it.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PR_SET_PTRACER
#define PR_SET_PTRACER 0x59616d61
#endif
#ifndef PR_SET_PTRACER_ANY
#define PR_SET_PTRACER_ANY ((unsigned long)-1)
#endif

#define REAL_TIMEOUT "/usr/bin/timeout"

/* The command line, as coreutils' timeout reads it. */
struct options {
    bool foreground;
    bool preserve_status;
    double duration;
    double kill_after;
    int signal;
    char **command;
};

static volatile sig_atomic_t alarm_rang;
static volatile sig_atomic_t forwarded_signal;

static void on_alarm(int sig)
{
    (void)sig;
    alarm_rang = 1;
}

static void on_signal(int sig)
{
    forwarded_signal = sig;
}

static void on_child(int sig)
{
    (void)sig;
}

/* A duration: a number with an optional unit s, m, h or d. */
static bool parse_duration(const char *text, double *seconds)
{
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (errno != 0 || end == text || value < 0)
        return false;

    double unit = 1;
    if (*end == 'm')
        unit = 60;
    if (*end == 'h')
        unit = 3600;
    if (*end == 'd')
        unit = 86400;
    if (*end != '\0' && strchr("smhd", *end) == NULL)
        return false;
    if (*end != '\0' && end[1] != '\0')
        return false;

    *seconds = value * unit;
    return true;
}

/* The signals a suite may name for -s. */
struct signal_name {
    const char *name;
    int number;
};

static const struct signal_name signal_names[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
    {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"ALRM", SIGALRM}, {"TERM", SIGTERM}};

/* A signal: a number, or a name with or without SIG (TERM, SIGINT, KILL). */
static int parse_signal(const char *text)
{
    if (strncmp(text, "SIG", 3) == 0)
        text += 3;
    for (size_t i = 0; i < sizeof signal_names / sizeof signal_names[0]; i++) {
        if (strcmp(text, signal_names[i].name) == 0)
            return signal_names[i].number;
    }

    char *end;
    long number = strtol(text, &end, 10);
    if (end == text || *end != '\0' || number <= 0 || number >= NSIG)
        return -1;
    return (int)number;
}

/* Options first, then DURATION and COMMAND. False when the line is one this
 * copy does not understand: the real timeout then takes it. */
static bool parse_options(int argc, char **argv, struct options *o)
{
    int i = 1;
    o->signal = SIGTERM;

    for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "--foreground") == 0) {
            o->foreground = true;
        } else if (strcmp(a, "--preserve-status") == 0) {
            o->preserve_status = true;
        } else if (strcmp(a, "-k") == 0 && i + 1 < argc) {
            i++;
            if (!parse_duration(argv[i], &o->kill_after))
                return false;
        } else if (strncmp(a, "--kill-after=", 13) == 0) {
            if (!parse_duration(a + 13, &o->kill_after))
                return false;
        } else if (strcmp(a, "-s") == 0 && i + 1 < argc) {
            i++;
            o->signal = parse_signal(argv[i]);
        } else if (strncmp(a, "--signal=", 9) == 0) {
            o->signal = parse_signal(a + 9);
        } else {
            return false;
        }
        if (o->signal < 0)
            return false;
    }

    if (i + 1 >= argc || !parse_duration(argv[i], &o->duration))
        return false;
    o->command = argv + i + 1;
    return true;
}

static void arm_alarm(double seconds)
{
    struct itimerval t = {0};
    t.it_value.tv_sec = (time_t)seconds;
    t.it_value.tv_usec = (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6);
    setitimer(ITIMER_REAL, &t, NULL);
}

/* Send a signal to the command, and to its whole process group unless
 * --foreground (as timeout does: a pipeline inside dies with it). */
static void send_to_command(pid_t child, int sig, bool foreground)
{
    kill(child, sig);
    if (foreground)
        return;

    /* this process is in the group too: it must not die of the signal
     * (SIGKILL it cannot refuse, which is why timeout then exits 137) */
    if (sig != SIGKILL)
        signal(sig, SIG_IGN);
    kill(0, sig);
}

/* The autopsy: $GRADE_AUTOPSY_TOOL --pid CHILD, its output in the files it
 * writes; this waits for it (the tool bounds its own time). */
static void run_autopsy(pid_t child)
{
    const char *tool = getenv("GRADE_AUTOPSY_TOOL");
    if (tool == NULL || *tool == '\0')
        return;

    char pid_text[32];
    snprintf(pid_text, sizeof pid_text, "%ld", (long)child);

    pid_t doctor = fork();
    if (doctor < 0)
        return;
    if (doctor == 0) {
        freopen("/dev/null", "r", stdin);
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        execlp("python3", "python3", tool, "--pid", pid_text, (char *)NULL);
        _exit(127);
    }

    /* the command's own SIGCHLD must not cut this wait short */
    while (waitpid(doctor, NULL, 0) < 0 && errno == EINTR)
        continue;
}

/* The child: let any process attach (Yama), then become COMMAND. */
static void run_command(char **command, const sigset_t *old_mask)
{
    signal(SIGTTIN, SIG_DFL);
    signal(SIGTTOU, SIG_DFL);
    sigprocmask(SIG_SETMASK, old_mask, NULL);

    /* EINVAL where there is no Yama: nothing to ask for, then */
    prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);

    execvp(command[0], command);
    int code = errno == ENOENT ? 127 : 126;
    fprintf(stderr, "timeout: failed to run command '%s': %s\n", command[0],
            strerror(errno));
    _exit(code);
}

/* How the command ended, as timeout reports it to its caller. */
static int exit_status(int status, bool timed_out, const struct options *o)
{
    if (timed_out && !o->preserve_status)
        return 124;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 125;
}

int main(int argc, char **argv)
{
    struct options o = {0};

    /* Anything unusual: the real timeout, unchanged. */
    if (!parse_options(argc, argv, &o)) {
        execv(REAL_TIMEOUT, argv);
        perror("timeout: " REAL_TIMEOUT);
        return 125;
    }

    /* A process group of its own, so the signal reaches the whole pipeline. */
    if (!o.foreground)
        setpgid(0, 0);
    signal(SIGTTIN, SIG_IGN);
    signal(SIGTTOU, SIG_IGN);

    /* Signals arrive only inside sigsuspend(), so no wake-up is lost. */
    sigset_t block;
    sigset_t old_mask;
    sigemptyset(&block);
    int caught[] = {SIGALRM, SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof caught / sizeof caught[0]; i++)
        sigaddset(&block, caught[i]);
    sigprocmask(SIG_BLOCK, &block, &old_mask);

    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    sa.sa_handler = on_child;
    sigaction(SIGCHLD, &sa, NULL);
    sa.sa_handler = on_signal;
    for (size_t i = 2; i < sizeof caught / sizeof caught[0]; i++)
        sigaction(caught[i], &sa, NULL);

    /* Start the command. */
    pid_t child = fork();
    if (child < 0) {
        perror("timeout: fork");
        return 125;
    }
    if (child == 0)
        run_command(o.command, &old_mask);
    if (o.duration > 0)
        arm_alarm(o.duration);

    /* Wait: for its end, for the alarm, or for a signal to pass on. */
    bool timed_out = false;
    bool signalled = false;
    int status = 0;
    sigset_t wait_mask = old_mask;
    for (size_t i = 0; i < sizeof caught / sizeof caught[0]; i++)
        sigdelset(&wait_mask, caught[i]);

    for (;;) {
        pid_t done = waitpid(child, &status, WNOHANG);
        if (done == child || (done < 0 && errno == ECHILD))
            break;

        /* The time is up: look inside first, then signal; SIGKILL after -k. */
        if (alarm_rang && !signalled) {
            alarm_rang = 0;
            timed_out = true;
            signalled = true;
            run_autopsy(child);
            send_to_command(child, o.signal, o.foreground);
            if (o.kill_after > 0)
                arm_alarm(o.kill_after);
            continue;
        }
        if (alarm_rang) {
            alarm_rang = 0;
            send_to_command(child, SIGKILL, o.foreground);
            continue;
        }

        /* A signal for this process is passed on, as timeout does. */
        if (forwarded_signal != 0) {
            int sig = forwarded_signal;
            forwarded_signal = 0;
            send_to_command(child, sig, o.foreground);
            if (o.kill_after > 0 && !signalled)
                arm_alarm(o.kill_after);
            signalled = true;
            continue;
        }
        sigsuspend(&wait_mask);
    }

    return exit_status(status, timed_out, &o);
}
