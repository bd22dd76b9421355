#define _GNU_SOURCE
#include "CSupport.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

int csupport_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0UL, 0UL, 0UL);
}

int csupport_get_parent_death_signal(int *signal) {
    return prctl(PR_GET_PDEATHSIG, (unsigned long)signal, 0UL, 0UL, 0UL);
}

int csupport_set_child_subreaper(int enabled) {
    return prctl(PR_SET_CHILD_SUBREAPER, (unsigned long)(enabled ? 1 : 0), 0UL, 0UL, 0UL);
}

int csupport_get_child_subreaper(int *enabled) {
    return prctl(PR_GET_CHILD_SUBREAPER, (unsigned long)enabled, 0UL, 0UL, 0UL);
}

static pid_t reap(idtype_t type, id_t id) {
    for (;;) {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        if (waitid(type, id, &info, WEXITED | WNOHANG) == 0) {
            // With WNOHANG, a zeroed si_pid means "nothing has exited yet".
            return info.si_pid;
        }
        if (errno != EINTR) {
            return -1;
        }
    }
}

pid_t csupport_reap_group_member(pid_t group) {
    return reap(P_PGID, (id_t)group);
}

pid_t csupport_reap_if_exited(pid_t pid) {
    return reap(P_PID, (id_t)pid);
}

int csupport_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

int csupport_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int csupport_epoll_add(int epoll, int fd, uint64_t token) {
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    event.events = EPOLLIN | EPOLLRDHUP;
    event.data.u64 = token;
    return epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
}

int csupport_epoll_remove(int epoll, int fd) {
    return epoll_ctl(epoll, EPOLL_CTL_DEL, fd, NULL);
}

int csupport_epoll_wait(int epoll, uint64_t *tokens, int capacity) {
    struct epoll_event events[64];
    if (capacity > 64) {
        capacity = 64;
    }
    int count = epoll_wait(epoll, events, capacity, -1);
    for (int index = 0; index < count; index++) {
        tokens[index] = events[index].data.u64;
    }
    return count;
}

int csupport_eventfd(void) {
    return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

int csupport_set_pipe_size(int fd, int size) {
    return fcntl(fd, F_SETPIPE_SZ, size);
}

static volatile int sigchld_descriptor = -1;
static struct sigaction previous_sigchld;

static void sigchld_notify(int number, siginfo_t *info, void *context) {
    int saved = errno;
    uint64_t one = 1;
    int descriptor = sigchld_descriptor;
    if (descriptor >= 0) {
        ssize_t ignored = write(descriptor, &one, sizeof one);
        (void)ignored;
    }
    // Another owner's handler (a library's) still runs.
    if (previous_sigchld.sa_flags & SA_SIGINFO) {
        if (previous_sigchld.sa_sigaction != NULL) {
            previous_sigchld.sa_sigaction(number, info, context);
        }
    } else if (previous_sigchld.sa_handler != SIG_DFL && previous_sigchld.sa_handler != SIG_IGN
               && previous_sigchld.sa_handler != NULL) {
        previous_sigchld.sa_handler(number);
    }
    errno = saved;
}

int csupport_notify_sigchld(int fd) {
    if (sigchld_descriptor >= 0) {
        sigchld_descriptor = fd;
        return 0;
    }
    sigchld_descriptor = fd;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = sigchld_notify;
    action.sa_flags = SA_SIGINFO | SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGCHLD, &action, &previous_sigchld) != 0) {
        sigchld_descriptor = -1;
        return -1;
    }
    return 0;
}

pid_t csupport_spawn(const char *path, char *const argv[], char *const envp[], const char *directory, int input,
                     int output, int error) {
    posix_spawnattr_t attributes;
    posix_spawn_file_actions_t actions;
    int result = posix_spawnattr_init(&attributes);
    if (result != 0) {
        errno = result;
        return -1;
    }
    result = posix_spawn_file_actions_init(&actions);
    if (result != 0) {
        posix_spawnattr_destroy(&attributes);
        errno = result;
        return -1;
    }
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    // Every signal back to its default (the supervisor ignores SIGPIPE) and none blocked.
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    if (directory != NULL) posix_spawn_file_actions_addchdir_np(&actions, directory);
    posix_spawn_file_actions_adddup2(&actions, input, 0);
    posix_spawn_file_actions_adddup2(&actions, output, 1);
    posix_spawn_file_actions_adddup2(&actions, error, 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    // Nothing else of this process reaches the child, close-on-exec or not (a test's socket, a library's file).
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif
    pid_t pid = -1;
    result = posix_spawn(&pid, path, &actions, &attributes, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (result != 0) {
        errno = result;
        return -1;
    }
    return pid;
}

int csupport_pidfd_open(pid_t pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

pid_t csupport_wait_exit(pid_t pid, int *exited, int *status) {
    int raw = 0;
    pid_t reaped;
    do {
        reaped = waitpid(pid, &raw, 0);
    } while (reaped < 0 && errno == EINTR);
    if (reaped < 0) return -1;
    if (WIFEXITED(raw)) {
        *exited = 1;
        *status = WEXITSTATUS(raw);
    } else {
        *exited = 0;
        *status = WIFSIGNALED(raw) ? WTERMSIG(raw) : 0;
    }
    return reaped;
}
