// orchestrate-pdeathsig SIGNAL PARENT PATH ARGV0 [ARG...]
//
// A trampoline that arms the parent-death signal and then becomes the real command. swift-subprocess has no
// hook that runs in the child between fork and exec on Linux, and PR_SET_PDEATHSIG is cleared by fork (but kept
// across exec), so the supervisor spawns this program, which calls prctl(PR_SET_PDEATHSIG, SIGNAL) on itself,
// checks that PARENT (the supervisor's pid) is still its parent -- if the supervisor died between the spawn and
// the prctl, the signal would never come -- and execs PATH with ARGV0 ARG... as its argument vector. The pid,
// process group, session, environment, working directory and open descriptors are those of the command.
//
// Exit status 127 when the command cannot be found, 126 when it cannot be executed, as a shell reports them.

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

// SwiftPM links every executable through the Swift driver, which adds swiftrt.o: a constructor that registers the
// image with the Swift runtime, and so a dependency on the Swift runtime library. This program has no Swift code:
// with these two no-op definitions, nothing of the runtime is linked, and the program is linked statically
// (Package.swift). It starts in a quarter of a millisecond instead of the 2 ms a dynamic one spent loading
// libswiftCore.so, on every spawn of every command.
void swift_addNewDSOImage(const void *header) {
    (void)header;
}

int _swift_backtrace_isThunkFunction(const char *name) {
    (void)name;
    return 0;
}

static long parse(const char *text) {
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') {
        return -1;
    }
    return value;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: orchestrate-pdeathsig SIGNAL PARENT PATH ARGV0 [ARG...]\n");
        return 127;
    }
    long signal_number = parse(argv[1]);
    long parent = parse(argv[2]);
    if (signal_number <= 0 || signal_number >= NSIG || parent <= 0) {
        fprintf(stderr, "orchestrate-pdeathsig: bad signal '%s' or parent '%s'\n", argv[1], argv[2]);
        return 127;
    }
    if (prctl(PR_SET_PDEATHSIG, (unsigned long)signal_number, 0UL, 0UL, 0UL) != 0) {
        fprintf(stderr, "orchestrate-pdeathsig: prctl(PR_SET_PDEATHSIG): %s\n", strerror(errno));
        return 127;
    }
    // Armed from here on; if the parent is already gone, nothing will ever send the signal: act as if it had.
    if (getppid() != (pid_t)parent) {
        raise((int)signal_number);
        _exit(128 + (int)signal_number);
    }
    execv(argv[3], argv + 4);
    int error = errno;
    fprintf(stderr, "orchestrate-pdeathsig: cannot execute '%s': %s\n", argv[3], strerror(error));
    return error == ENOENT || error == ENOTDIR ? 127 : 126;
}
