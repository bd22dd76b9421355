#define _GNU_SOURCE
#include "CSupport.h"

#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>
#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/mman.h>
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

int csupport_set_thread_name(const char *name) {
    return prctl(PR_SET_NAME, (unsigned long)name, 0UL, 0UL, 0UL);
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

// The kernel's `struct sigaction` (the same layout on x86_64 and aarch64), for rt_sigaction without libc.
struct kernel_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    unsigned long mask;
};

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif

// What csupport_spawn hands its child.
struct spawn_request {
    const char *path;
    char *const *argv;
    char *const *envp;
    const char *directory;
    int input, output, error;
    int death_signal;
    pid_t parent;
    // Whether the child starts on this process's descriptor table (CLONE_FILES), and then the lowest descriptor it
    // does not copy: `input`, `output` and `error` are below it.
    int shares_files;
    int keep_below;
    volatile int *failure;
};

// The child's side of csupport_spawn. It runs on the parent's memory (vfork, or clone with CLONE_VM) until execve,
// so it makes raw system calls only: no libc wrapper that a sanitizer intercepts (their interceptors take locks
// and allocate, which in such a child deadlocks or corrupts the parent), no lock, and it never returns. A failure
// is stored in `*failure` for the parent.
static int spawned_child(void *argument) {
    const struct spawn_request *request = argument;
    if (request->shares_files) {
        // A table of its own before anything else, holding only the descriptors below `keep_below`: the kernel
        // never copies (nor, at the exec, closes) the thousands a big supervisor holds. Kernels before 5.9 lack
        // CLOSE_RANGE_UNSHARE: a copy of the whole table then, closed below as with vfork.
        if (syscall(SYS_close_range, (unsigned)request->keep_below, ~0U, CLOSE_RANGE_UNSHARE) != 0
            && syscall(SYS_unshare, CLONE_FILES) != 0) {
            goto fail;
        }
    }
    // Every signal back to its default (the supervisor's handlers must never run here, and it ignores SIGPIPE);
    // they are all blocked until then.
    struct kernel_sigaction default_action = {SIG_DFL, 0, NULL, 0};
    for (int number = 1; number <= 64; number++) {
        if (number != SIGKILL && number != SIGSTOP) {
            syscall(SYS_rt_sigaction, number, &default_action, NULL, sizeof(unsigned long));
        }
    }
    if (syscall(SYS_setsid) < 0) goto fail;
    if (request->directory != NULL && syscall(SYS_chdir, request->directory) != 0) goto fail;
    if (request->input != 0 && syscall(SYS_dup3, request->input, 0, 0) < 0) goto fail;
    if (request->output != 1 && syscall(SYS_dup3, request->output, 1, 0) < 0) goto fail;
    if (request->error != 2 && syscall(SYS_dup3, request->error, 2, 0) < 0) goto fail;
    // Nothing else of this process reaches the command, close-on-exec or not (a test's socket, a library's file).
    if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
        for (int fd = 3; fd < 65536; fd++) syscall(SYS_close, fd);
    }
    unsigned long no_signals = 0;
    if (request->death_signal != 0) {
        if (syscall(SYS_prctl, PR_SET_PDEATHSIG, (unsigned long)request->death_signal, 0UL, 0UL, 0UL) != 0) goto fail;
        // Armed from here on; if the parent died before, nothing will ever send the signal: act as if it had.
        if (syscall(SYS_getppid) != request->parent) {
            syscall(SYS_rt_sigprocmask, SIG_SETMASK, &no_signals, NULL, sizeof no_signals);
            syscall(SYS_kill, syscall(SYS_getpid), request->death_signal);
            syscall(SYS_exit_group, 128 + request->death_signal);
        }
    }
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &no_signals, NULL, sizeof no_signals);
    syscall(SYS_execve, request->path, request->argv, request->envp);
fail:
    *request->failure = errno != 0 ? errno : EINVAL;
    syscall(SYS_exit_group, 127);
    return 127;
}

// /dev/null, kept open: what the reserved descriptors of the spawning threads hold between spawns.
static int null_descriptor = -1;
static pthread_once_t null_once = PTHREAD_ONCE_INIT;

static void open_null(void) {
    null_descriptor = open("/dev/null", O_RDWR | O_CLOEXEC);
}

// Puts /dev/null back in the first `count` slots.
static void empty_slots(const int *slots, int count) {
    for (int index = 0; index < count; index++) dup3(null_descriptor, slots[index], O_CLOEXEC);
}

int csupport_reserve_spawn_slots(int slots[3]) {
    pthread_once(&null_once, open_null);
    if (null_descriptor < 0) return -1;
    for (int index = 0; index < 3; index++) {
        slots[index] = fcntl(null_descriptor, F_DUPFD_CLOEXEC, 3);
        if (slots[index] < 0) {
            int saved = errno;
            for (int opened = 0; opened < index; opened++) close(slots[opened]);
            errno = saved;
            return -1;
        }
    }
    return 0;
}

pid_t csupport_spawn(const char *path, char *const argv[], char *const envp[], const char *directory, int input,
                     int output, int error, int death_signal, pid_t parent, const int *slots) {
    volatile int failure = 0;
    struct spawn_request request = {path, argv, envp, directory, input, output, error, death_signal, parent, 0, 0,
                                    &failure};
    if (slots != NULL) {
        // The child's three descriptors go to this thread's reserved slots, which are low (reserved as the process
        // started), so that the child can start on this process's table and keep only what lies below them.
        int targets[3] = {input, output, error};
        for (int index = 0; index < 3; index++) {
            if (dup3(targets[index], slots[index], O_CLOEXEC) < 0) {
                int saved = errno;
                empty_slots(slots, index);
                errno = saved;
                return -1;
            }
            if (slots[index] + 1 > request.keep_below) request.keep_below = slots[index] + 1;
        }
        request.input = slots[0];
        request.output = slots[1];
        request.error = slots[2];
        request.shares_files = 1;
    }
    // vfork, or clone with CLONE_VM | CLONE_VFORK as glibc's posix_spawn does: no copy of the page tables, and this
    // thread waits until the child has exec'd or failed. Unlike posix_spawn, the child can set its parent-death
    // signal before the exec (an extra exec of a helper program did that before, at twice the cost of a spawn).
    // Every signal is blocked across it, so that none of this process's handlers runs in the child.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t pid;
    if (request.shares_files) {
        // The child runs on this stack, below this frame, while this thread waits.
        char stack[32768] __attribute__((aligned(16)));
        pid = clone(spawned_child, stack + sizeof stack, CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, &request);
    } else {
        pid = vfork();
        if (pid == 0) spawned_child(&request);
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (request.shares_files) {
        // The slots let go of the child's descriptors, or the output pipe would never see end-of-file.
        empty_slots(slots, 3);
    }
    if (pid < 0) {
        errno = saved;
        return -1;
    }
    if (failure != 0) {
        // The child exec'd nothing and has exited: reap it, and report why.
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        errno = failure;
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

int csupport_release_unused_memory(void) {
    malloc_trim(0);
    // The executable's code is the mapping that holds this function. Its pages are never written, so dropping them
    // loses nothing: the kernel maps them again from the page cache (or the file) when they run again.
    FILE *maps = fopen("/proc/self/maps", "re");
    if (maps == NULL) return -1;
    uintptr_t here = (uintptr_t)&csupport_release_unused_memory;
    char line[512];
    int result = -1;
    while (fgets(line, sizeof line, maps) != NULL) {
        unsigned long start, end;
        char permissions[5];
        if (sscanf(line, "%lx-%lx %4s", &start, &end, permissions) != 3) continue;
        if (here >= start && here < end) {
            // Only a private, read-only, executable mapping: nothing in it can differ from the file.
            if (strcmp(permissions, "r-xp") == 0) result = madvise((void *)start, end - start, MADV_DONTNEED);
            break;
        }
    }
    fclose(maps);
    return result;
}
