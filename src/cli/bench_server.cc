// `skyway bench`: the server under test as a child process, and CPU time accounting.
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/bench.h"

extern char** environ;

namespace skyway::cli::bench {
namespace {

constexpr int kStartupTimeoutMs = 30000;  // vectordb loads its collections first
constexpr int kStopTimeoutMs = 10000;
constexpr char kReadyPrefix[] = "listening on http://127.0.0.1:";

std::string SelfExe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "/proc/self/exe";
}

std::string TempBase() {
  const char* dir = getenv("TMPDIR");
  return dir && *dir ? dir : "/tmp";
}

// The last bytes of the server's log, for an error message.
std::string LogTail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  if (s.size() > 1500) s = "..." + s.substr(s.size() - 1500);
  return s.empty() ? "(empty)" : s;
}

// Reads the child's stdout until it says which port it listens on.
Result<int> WaitForPort(int fd) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kStartupTimeoutMs);
  std::string seen;
  while (true) {
    size_t at = seen.find(kReadyPrefix);
    if (at != std::string::npos) {
      size_t begin = at + strlen(kReadyPrefix), end = begin;
      while (end < seen.size() && isdigit(static_cast<unsigned char>(seen[end]))) end++;
      if (end < seen.size() && end > begin) {
        auto port = ParseUint64(std::string_view(seen).substr(begin, end - begin));
        if (port && *port > 0 && *port < 65536) return static_cast<int>(*port);
        return Status::IOError("server printed a bad port: " + seen);
      }
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status::IOError("server did not report its port in time");
    pollfd p{fd, POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) return Status::FromErrno("poll", errno);
    if (n <= 0) continue;
    char buf[1024];
    ssize_t got = read(fd, buf, sizeof(buf));
    if (got < 0 && errno != EINTR) return Status::FromErrno("read server stdout", errno);
    if (got == 0) return Status::IOError("server exited before listening");
    if (got > 0) seen.append(buf, static_cast<size_t>(got));
  }
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

InterruptGuard::InterruptGuard(void (*handler)(int)) {
  struct sigaction sa {};
  sa.sa_handler = handler;
  sa.sa_flags = static_cast<int>(SA_RESETHAND);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

InterruptGuard::~InterruptGuard() {
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
}

Result<std::unique_ptr<ChildServer>> ChildServer::Start(const std::string& command) {
  std::unique_ptr<ChildServer> s(new ChildServer());
  std::string dir = TempBase() + "/skyway-bench-XXXXXX";
  if (!mkdtemp(dir.data())) return Status::FromErrno("mkdtemp " + dir, errno);
  s->dir_ = dir;
  s->access_key_ = "BENCH" + HexEncode(RandomBytes(8));
  s->secret_key_ = HexEncode(RandomBytes(20));
  std::string log = dir + "/" + command + ".log";
  // Everything the child needs is made before fork(): after it only async-signal-safe calls.
  std::string exe = SelfExe();
  std::vector<std::string> args = {exe,           command,     "--data",
                                   dir + "/data", "--address", "127.0.0.1:0"};
  std::vector<std::string> env;
  for (char** e = environ; *e; e++) {
    if (!StartsWith(*e, "SKYWAY_ACCESS_KEY=") && !StartsWith(*e, "SKYWAY_SECRET_KEY=")) {
      env.emplace_back(*e);
    }
  }
  env.push_back("SKYWAY_ACCESS_KEY=" + s->access_key_);
  env.push_back("SKYWAY_SECRET_KEY=" + s->secret_key_);
  std::vector<char*> argv = Pointers(args), envp = Pointers(env);
  UniqueFd log_fd(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!log_fd.valid()) return Status::FromErrno("create " + log, errno);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return Status::FromErrno("pipe2", errno);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);  // a Ctrl-C reaches the bench alone, which then stops the server itself
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (dup2(out[1], STDOUT_FILENO) < 0 || dup2(log_fd.get(), STDERR_FILENO) < 0) _exit(127);
    execve(exe.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  int fork_errno = errno;
  close(out[1]);
  s->stdout_fd_ = out[0];
  if (pid < 0) return Status::FromErrno("fork", fork_errno);
  s->pid_ = pid;
  auto port = WaitForPort(s->stdout_fd_);
  if (!port.ok()) {
    std::string tail = LogTail(log);
    (void)s->Stop();
    return Status::IOError(port.status().message() + "; " + command + " log:\n" + tail);
  }
  s->endpoint_ = "http://127.0.0.1:" + std::to_string(*port);
  return s;
}

ChildServer::~ChildServer() { (void)Stop(); }

Status ChildServer::Stop() {
  Status st;
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int wstatus = 0;
    pid_t done = 0;
    for (int waited = 0; waited < kStopTimeoutMs; waited += 10) {
      done = waitpid(pid_, &wstatus, WNOHANG);
      if (done != 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (done == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &wstatus, 0);
      st = Status::IOError("server did not stop on SIGTERM; killed");
    } else if (done > 0 && !(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)) {
      st = Status::IOError("server exited with status " + std::to_string(wstatus));
    }
    pid_ = -1;
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
  stdout_fd_ = -1;
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    if (ec && st.ok()) st = Status::IOError("remove " + dir_ + ": " + ec.message());
    dir_.clear();
  }
  return st;
}

double SelfCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

Result<double> ProcessCpuSeconds(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return Status::IOError("cannot read " + path);
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last
  // ')'. utime and stime are fields 14 and 15, the 12th and 13th after the comm.
  size_t close = line.rfind(')');
  if (close == std::string::npos) return Status::IOError("malformed " + path);
  std::istringstream fields(line.substr(close + 1));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 0; i < 13 && fields >> field; i++) {
    if (i == 11) utime = ParseUint64(field).value_or(0);
    if (i == 12) stime = ParseUint64(field).value_or(0);
  }
  if (!fields) return Status::IOError("malformed " + path);
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace skyway::cli::bench
