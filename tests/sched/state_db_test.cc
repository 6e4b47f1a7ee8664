// The scheduler's state database (sched/state_db.h) given files it did not write whole: a
// file that is not a database, and one whose pages were damaged after the daemon wrote it.
// Either is refused at open with one error naming the file and what to do, never read as a
// state with fewer jobs than it held.
#include "sched/state_db.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "tests/util/job.h"

namespace ogai::sched {
namespace {

using ogai::testing::TempDir;

TEST(StateDb, JobsSurviveAReopen) {
  TempDir d("ogai_state_db");
  const std::string path = d / "sched.db";
  {
    auto db = StateDb::Open(path);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    Job j;
    j.tenant = "a";
    j.name = "first";
    j.ranks = 2;
    j.overrides = {"train.steps=5", "seed=3"};
    ASSERT_TRUE((*db)->SaveJob(&j, "submitted", 1000).ok());
    EXPECT_EQ(j.id, 1);
  }
  auto db = StateDb::Open(path);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto jobs = (*db)->LoadJobs();
  ASSERT_TRUE(jobs.ok()) << jobs.status().ToString();
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].name, "first");
  EXPECT_EQ((*jobs)[0].overrides, (std::vector<std::string>{"train.steps=5", "seed=3"}));
  auto events = (*db)->Events(1);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0], "1970-01-01 00:16:40.000 UTC submitted");  // the job's history, in UTC
}

TEST(StateDb, AFileThatIsNotADatabaseIsRefusedByName) {
  TempDir d("ogai_state_db");
  const std::string path = d / "sched.db";
  ogai::testing::WriteFile(path, std::string(8192, 'x'));
  auto db = StateDb::Open(path);
  ASSERT_FALSE(db.ok());
  const std::string m = db.status().message();
  EXPECT_NE(m.find("scheduler state " + path), std::string::npos) << m;
  EXPECT_NE(m.find("not a database"), std::string::npos) << m;
  EXPECT_NE(m.find("--state folder"), std::string::npos) << m;
  EXPECT_EQ(ogai::testing::ReadText(path), std::string(8192, 'x')) << "the file was changed";
}

// 300 jobs with 2 KB of config each fill ~150 pages of the jobs table; the file's second half
// is then overwritten. The old reader stopped at the first page it could not read and
// returned the jobs before it, as if the others had never been submitted.
TEST(StateDb, ADamagedFileIsRefusedNotReadAsFewerJobs) {
  TempDir d("ogai_state_db");
  const std::string path = d / "sched.db";
  {
    auto db = StateDb::Open(path);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    std::vector<Job> jobs(300);
    std::vector<Job*> ptrs;
    for (size_t i = 0; i < jobs.size(); ++i) {
      jobs[i].tenant = "a";
      jobs[i].name = "job" + std::to_string(i);
      jobs[i].config_yaml = std::string(2048, 'c');
      ptrs.push_back(&jobs[i]);
    }
    ASSERT_TRUE((*db)->SaveJobs(ptrs, {}, 1000).ok());
  }  // the last connection's close checkpoints the WAL into sched.db
  ASSERT_NE(::access((path + "-wal").c_str(), F_OK), 0) << "the WAL was not folded into the file";
  const int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  const off_t size = ::lseek(fd, 0, SEEK_END);
  ASSERT_GT(size, 300 * 2048);
  const std::string junk(static_cast<size_t>(size / 2), '\xff');
  ASSERT_EQ(::pwrite(fd, junk.data(), junk.size(), size - static_cast<off_t>(junk.size())),
            static_cast<ssize_t>(junk.size()));
  ::close(fd);

  auto db = StateDb::Open(path);
  ASSERT_FALSE(db.ok()) << "a damaged state was opened";
  const std::string m = db.status().message();
  EXPECT_NE(m.find("scheduler state " + path + " is damaged"), std::string::npos) << m;
  EXPECT_NE(m.find("restore it from a backup"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << "not one line: " << m;
}

}  // namespace
}  // namespace ogai::sched
