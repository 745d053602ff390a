// berth's RuntimeDefault seccomp profile. An allowlist: any system call not named here fails
// with EPERM. The list covers what ordinary programs (shells, libc, language runtimes, busybox)
// use; calls that reach past the container — new namespaces, mounts, the kernel keyring,
// tracing other processes, loading modules, setting the clock — are allowed only when the
// container also holds the capability that the kernel would check for them anyway, the way
// the Docker and containerd defaults work. Unknown names are harmless: runc and crun skip the
// calls their libseccomp does not know.
import type { OciSeccomp, OciSeccompSyscall } from "./oci-types.js";

const EPERM = 1;
const ENOSYS = 38;

/** Calls every container may make, grouped by what they are for. */
const ALWAYS_ALLOWED: readonly (readonly string[])[] = [
  // files and directories
  ["access", "faccessat", "faccessat2", "chdir", "fchdir", "getcwd", "chmod", "fchmod"],
  ["fchmodat", "fchmodat2", "chown", "chown32", "fchown", "fchown32", "fchownat", "lchown"],
  ["lchown32", "creat", "open", "openat", "openat2", "close", "close_range", "dup", "dup2"],
  ["dup3", "fcntl", "fcntl64", "flock", "link", "linkat", "symlink", "symlinkat", "unlink"],
  ["unlinkat", "rename", "renameat", "renameat2", "mkdir", "mkdirat", "rmdir", "mknod"],
  ["mknodat", "readlink", "readlinkat", "stat", "stat64", "lstat", "lstat64", "fstat"],
  ["fstat64", "fstatat64", "newfstatat", "statx", "statfs", "statfs64", "fstatfs", "fstatfs64"],
  ["getdents", "getdents64", "truncate", "truncate64", "ftruncate", "ftruncate64", "umask"],
  ["utime", "utimes", "utimensat", "utimensat_time64", "futimesat", "fallocate", "fadvise64"],
  ["fadvise64_64", "readahead", "sync", "syncfs", "fsync", "fdatasync", "sync_file_range"],
  ["getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr", "fsetxattr", "listxattr"],
  ["llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr"],
  ["inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch", "fanotify_mark"],
  // reading and writing
  ["read", "readv", "pread64", "preadv", "preadv2", "write", "writev", "pwrite64", "pwritev"],
  ["pwritev2", "lseek", "_llseek", "sendfile", "sendfile64", "splice", "tee", "vmsplice"],
  ["copy_file_range", "ioctl", "pipe", "pipe2"],
  // waiting for events
  ["select", "_newselect", "pselect6", "pselect6_time64", "poll", "ppoll", "ppoll_time64"],
  ["epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_wait"],
  ["epoll_wait_old", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "signalfd"],
  ["signalfd4", "timerfd_create", "timerfd_settime", "timerfd_settime64", "timerfd_gettime"],
  ["timerfd_gettime64", "io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents"],
  ["io_pgetevents", "io_pgetevents_time64"],
  // memory
  ["brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "pkey_mprotect", "pkey_alloc"],
  ["pkey_free", "madvise", "mincore", "msync", "mlock", "mlock2", "mlockall", "munlock"],
  ["munlockall", "memfd_create", "remap_file_pages", "membarrier", "map_shadow_stack"],
  // processes and threads
  ["execve", "execveat", "fork", "vfork", "exit", "exit_group", "wait4", "waitid", "waitpid"],
  ["getpid", "getppid", "gettid", "getpgid", "setpgid", "getpgrp", "getsid", "setsid"],
  ["set_tid_address", "set_robust_list", "get_robust_list", "rseq", "futex", "futex_time64"],
  ["futex_waitv", "get_thread_area", "set_thread_area", "prctl", "capget", "capset"],
  ["getpriority", "setpriority", "ioprio_get", "ioprio_set", "sched_yield", "sched_getparam"],
  ["sched_setparam", "sched_getscheduler", "sched_setscheduler", "sched_getattr"],
  ["sched_setattr", "sched_getaffinity", "sched_setaffinity", "sched_get_priority_max"],
  ["sched_get_priority_min", "sched_rr_get_interval", "sched_rr_get_interval_time64"],
  ["getrlimit", "ugetrlimit", "setrlimit", "prlimit64", "getrusage", "times", "getcpu"],
  ["pidfd_open", "pidfd_send_signal", "process_mrelease", "seccomp", "restart_syscall"],
  ["landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self"],
  // identity
  ["getuid", "getuid32", "geteuid", "geteuid32", "getgid", "getgid32", "getegid"],
  ["getegid32", "getresuid", "getresuid32", "getresgid", "getresgid32", "getgroups"],
  ["getgroups32", "setuid", "setuid32", "setgid", "setgid32", "setreuid", "setreuid32"],
  ["setregid", "setregid32", "setresuid", "setresuid32", "setresgid", "setresgid32"],
  ["setgroups", "setgroups32", "setfsuid", "setfsuid32", "setfsgid", "setfsgid32"],
  // signals
  ["kill", "tkill", "tgkill", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending"],
  ["rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_sigqueueinfo"],
  ["rt_tgsigqueueinfo", "sigaltstack", "sigprocmask", "sigreturn", "pause"],
  // time
  ["time", "gettimeofday", "clock_gettime", "clock_gettime64", "clock_getres"],
  ["clock_getres_time64", "clock_nanosleep", "clock_nanosleep_time64", "nanosleep", "alarm"],
  ["getitimer", "setitimer", "timer_create", "timer_delete", "timer_getoverrun"],
  ["timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64"],
  // networking
  ["socket", "socketpair", "socketcall", "bind", "listen", "accept", "accept4", "connect"],
  ["getsockname", "getpeername", "getsockopt", "setsockopt", "shutdown", "send", "sendto"],
  ["sendmsg", "sendmmsg", "recv", "recvfrom", "recvmsg", "recvmmsg", "recvmmsg_time64"],
  // System V and POSIX IPC (namespaced)
  ["ipc", "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semctl", "semtimedop"],
  ["semtimedop_time64", "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink"],
  ["mq_timedsend", "mq_timedsend_time64", "mq_timedreceive", "mq_timedreceive_time64"],
  ["mq_notify", "mq_getsetattr"],
  // system information
  ["uname", "sysinfo", "getrandom"],
];

/** Calls that need a capability; allowed only when the container's bounding set has it. */
const BY_CAPABILITY: Readonly<Record<string, readonly string[]>> = {
  CAP_SYS_ADMIN: [
    "mount",
    "umount",
    "umount2",
    "mount_setattr",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "pivot_root",
    "unshare",
    "setns",
    "clone",
    "clone3",
    "sethostname",
    "setdomainname",
    "name_to_handle_at",
    "fanotify_init",
    "lookup_dcookie",
    "quotactl",
    "quotactl_fd",
    "bpf",
    "perf_event_open",
  ],
  CAP_DAC_READ_SEARCH: ["open_by_handle_at"],
  CAP_SYS_BOOT: ["reboot"],
  CAP_SYS_CHROOT: ["chroot"],
  CAP_SYS_MODULE: ["init_module", "finit_module", "delete_module"],
  CAP_SYS_PACCT: ["acct"],
  CAP_SYS_PTRACE: [
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "process_madvise",
    "kcmp",
    "pidfd_getfd",
  ],
  CAP_SYS_RAWIO: ["iopl", "ioperm"],
  CAP_SYS_TIME: [
    "settimeofday",
    "stime",
    "clock_settime",
    "clock_settime64",
    "adjtimex",
    "clock_adjtime",
    "clock_adjtime64",
  ],
  CAP_SYS_TTY_CONFIG: ["vhangup"],
  CAP_SYS_NICE: ["mbind", "set_mempolicy", "get_mempolicy", "set_mempolicy_home_node"],
  CAP_SYSLOG: ["syslog"],
  CAP_BPF: ["bpf"],
  CAP_PERFMON: ["perf_event_open"],
};

interface ArchProfile {
  architectures: string[];
  extra: string[];
}

/** Keyed by Node's process.arch. */
const BY_ARCH: Readonly<Record<string, ArchProfile>> = {
  x64: {
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    extra: ["arch_prctl", "modify_ldt"],
  },
  arm64: {
    architectures: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
    extra: ["arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "set_tls"],
  },
};

/** Every namespace flag clone(2) takes: CLONE_NEW{NS,CGROUP,UTS,IPC,USER,PID,NET}. */
const CLONE_NAMESPACE_FLAGS =
  0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;

/** personality(2) values ordinary programs use: Linux, 32-bit Linux, uname26, and query. */
const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

/**
 * The profile for a container whose bounding capability set is `capabilities`; `arch` is Node's
 * process.arch of the host (other architectures get only the native one).
 */
export function defaultSeccompProfile(
  capabilities: readonly string[],
  arch: string = process.arch,
): OciSeccomp {
  const archProfile = BY_ARCH[arch];
  const allowed = new Set<string>(ALWAYS_ALLOWED.flat());
  for (const name of archProfile?.extra ?? []) allowed.add(name);
  for (const cap of capabilities) for (const name of BY_CAPABILITY[cap] ?? []) allowed.add(name);

  const syscalls: OciSeccompSyscall[] = [{ names: [...allowed].sort(), action: "SCMP_ACT_ALLOW" }];
  for (const value of PERSONALITIES) {
    syscalls.push({
      names: ["personality"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value, op: "SCMP_CMP_EQ" }],
    });
  }
  if (!capabilities.includes("CAP_SYS_ADMIN")) {
    // Plain clone() for threads and fork is fine; asking it for new namespaces is not. The
    // flags sit in the first argument on the architectures berth supports.
    syscalls.push({
      names: ["clone"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
    });
    // clone3 passes its flags in memory, out of seccomp's sight. ENOSYS makes libc fall back
    // to clone(), which the rule above checks.
    syscalls.push({ names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS });
  }
  const profile: OciSeccomp = {
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: EPERM,
    syscalls,
  };
  if (archProfile !== undefined) profile.architectures = [...archProfile.architectures];
  return profile;
}
