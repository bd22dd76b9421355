#ifndef ORCHESTRATE_CSUPPORT_H
#define ORCHESTRATE_CSUPPORT_H

#include <stdint.h>
#include <sys/types.h>

/// Linux process-control calls that Swift cannot make directly (`prctl` is variadic and is not imported).
/// Each returns 0 on success, or -1 with `errno` set.

/// `prctl(PR_SET_PDEATHSIG, signal)`: the kernel sends `signal` to the calling process when the thread that
/// created it exits.
int csupport_set_parent_death_signal(int signal);

/// `prctl(PR_GET_PDEATHSIG)`: stores the calling process's parent-death signal (0 when none) in `signal`.
int csupport_get_parent_death_signal(int *signal);

/// `prctl(PR_SET_CHILD_SUBREAPER, enabled)`: orphaned descendants are re-parented to this process instead of
/// to init, so it can reap (and account for) them.
int csupport_set_child_subreaper(int enabled);

/// `prctl(PR_GET_CHILD_SUBREAPER)`: stores 1 in `enabled` when this process is a child subreaper, else 0.
int csupport_get_child_subreaper(int *enabled);

/// Names the calling thread (PR_SET_NAME: the first 15 bytes), as `ps -L` and /proc/PID/task/TID/comm show it.
int csupport_set_thread_name(const char *name);

/// `waitid(P_PGID, group, WEXITED | WNOHANG)`: reaps one exited child of this process that belongs to the process
/// group `group`. Returns the reaped pid, 0 when no member has exited yet, or -1 with `errno` set (ECHILD: this
/// process has no child in that group).
pid_t csupport_reap_group_member(pid_t group);

/// `waitid(P_PID, pid, WEXITED | WNOHANG)`: reaps `pid` if it is an exited child of this process. Returns `pid`
/// when it was reaped, 0 when it is still running, or -1 with `errno` set.
pid_t csupport_reap_if_exited(pid_t pid);

/// `pipe2(fds, O_CLOEXEC)`, which Glibc only declares under `_GNU_SOURCE`.
int csupport_pipe_cloexec(int fds[2]);

/// `fcntl(fd, F_SETPIPE_SZ, size)` (declared only under `_GNU_SOURCE`): grows a pipe's buffer. Returns the new
/// size, or -1.
int csupport_set_pipe_size(int fd, int size);

/// `epoll_create1(EPOLL_CLOEXEC)`.
int csupport_epoll_create(void);

/// Watches `fd` for input (`EPOLLIN | EPOLLRDHUP`, level-triggered) with `token` as the event's data.
int csupport_epoll_add(int epoll, int fd, uint64_t token);

/// Stops watching `fd`.
int csupport_epoll_remove(int epoll, int fd);

/// `epoll_wait` without a timeout, storing each ready event's token in `tokens`. Returns the count, or -1.
/// (Wrapped because `struct epoll_event` is packed on x86-64, which Swift does not import faithfully.)
int csupport_epoll_wait(int epoll, uint64_t *tokens, int capacity);

/// `eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)`.
int csupport_eventfd(void);

/// Installs a SIGCHLD handler (`SA_RESTART | SA_NOCLDSTOP`) that adds 1 to the eventfd `fd`, then calls the
/// handler that was installed before, if any. A later call only changes the descriptor. The disposition is
/// never `SIG_IGN`, which would make the kernel reap every child and break the waits of their owners.
int csupport_notify_sigchld(int fd);

/// Spawns `path` with `argv` and `envp` (NULL-terminated) in a new session and process group, every signal at
/// its default and none blocked, in `directory` (NULL: this process's), with `input`, `output` and `error` as its
/// descriptors 0, 1 and 2, and no other descriptor of this process. With `death_signal` not 0, the child gets that
/// signal when the calling thread exits (`PR_SET_PDEATHSIG`, set between fork and exec), and kills itself with it
/// if `parent` (this process) is already gone by then. Returns the child's pid, or -1 with `errno` set (ENOENT,
/// EACCES, ... from the exec itself, as posix_spawn reports them).
///
/// `slots`, when not NULL, are three descriptors reserved for the calling thread (``csupport_reserve_spawn_slots``):
/// the child then starts on this process's descriptor table and copies only the descriptors below them, instead of
/// copying every one and closing it again, which in a process holding thousands cost more than the spawn. They hold
/// /dev/null again when this returns.
pid_t csupport_spawn(const char *path, char *const argv[], char *const envp[], const char *directory, int input,
                     int output, int error, int death_signal, pid_t parent, const int *slots);

/// Reserves three descriptors (the lowest free ones, holding /dev/null, close-on-exec) for the spawns of one thread.
/// Returns 0, or -1 with `errno` set.
int csupport_reserve_spawn_slots(int slots[3]);

/// `pidfd_open(pid, 0)`: a descriptor that becomes readable when the process exits. -1 with `errno` set.
int csupport_pidfd_open(pid_t pid);

/// `waitpid(pid, &status, 0)`, retried on EINTR: reaps the exited child `pid`. Sets `exited` to 1 and `status`
/// to its exit status, or `exited` to 0 and `status` to the signal that ended it. Returns `pid`, or -1.
pid_t csupport_wait_exit(pid_t pid, int *exited, int *status);

/// Gives memory back to the system: the heap's free pages (`malloc_trim(0)`), and this executable's code pages
/// (`MADV_DONTNEED` on its read-only executable mapping), which the kernel maps again, from the page cache, when
/// they run again. Returns 0, or -1 with `errno` set when the code mapping could not be found or released.
int csupport_release_unused_memory(void);

#endif
