// Opening a second connection to a store must leave the first one's POSIX locks in place: a
// close() of any descriptor of the file drops every lock the process holds on it, and a process
// whose SHARED lock is gone lets another one take it for the "last connection" check on close,
// which then checkpoints and deletes the WAL while this process is still writing (corruption).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "schema/store.h"
#include "test_util.h"

namespace podtape::store {
namespace {

// SQLite's unix VFS takes SHARED as a read lock on these bytes of the database file.
constexpr off_t kSharedFirst = 0x40000000 + 2;
constexpr off_t kSharedSize = 510;

// Whether another process sees a read lock held on the SHARED range of `path`.
bool OtherProcessSeesSharedLock(const std::string& path) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) _exit(2);
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = kSharedFirst;
    fl.l_len = kSharedSize;
    if (fcntl(fd, F_GETLK, &fl) != 0) _exit(3);
    _exit(fl.l_type == F_RDLCK ? 0 : 1);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST(StoreOpenLocks, SecondOpenKeepsTheFirstConnectionsLock) {
  podtape::testing::TempDir dir;
  const std::string path = dir.File("s.db");
  auto first = Store::Open(path);
  ASSERT_TRUE(first.ok()) << first.status().message();
  // A read makes the first connection take its lock, whatever SQLite does at open.
  ASSERT_TRUE((*first)->List(SessionFilter{}).ok());
  ASSERT_TRUE(OtherProcessSeesSharedLock(path)) << "the first connection holds no SHARED lock";
  auto second = Store::Open(path);
  ASSERT_TRUE(second.ok()) << second.status().message();
  second->reset();  // closing the second connection must not drop the first one's lock either
  EXPECT_TRUE(OtherProcessSeesSharedLock(path));
}

}  // namespace
}  // namespace podtape::store
