#include "http_body.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace tcpscribe {
namespace {

namespace fs = std::filesystem;

TEST(BodyFile, CarriesTheCaptureTimeOfItsMessage) {
  const fs::path d = fs::temp_directory_path() / "tcpscribe_body_time";
  fs::remove_all(d);
  fs::create_directories(d);
  const Timestamp t = 1'795'343'362'758'069'000;
  {
    BodyFile f((d / "b").string(), 4);
    f.set_time(t);
    const uint8_t bytes[6] = {'a', 'b', 'c', 'd', 'e', 'f'};
    f.append(bytes);  // more than a chunk: written before the end
    f.hole(2);
    ASSERT_TRUE(f.close()) << f.error();
  }
  struct stat st;
  ASSERT_EQ(stat((d / "b").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 8);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'795'343'362);
  EXPECT_EQ(st.st_mtim.tv_nsec, 758'069'000);
  fs::remove_all(d);
}

TEST(BodyFile, PlacedThroughTheOpenDirectory) {
  // After -z the path no longer leads there; the held directory does.
  const fs::path d = fs::temp_directory_path() / "tcpscribe_body_place";
  fs::remove_all(d);
  fs::create_directories(d);
  const int dir = ::open(d.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  {
    BodyFile f("/nonexistent/out/x-HTTPBODY-001");
    f.place(dir, "x-HTTPBODY-001");
    const uint8_t bytes[3] = {'h', 'i', '\n'};
    f.append(bytes);
    ASSERT_TRUE(f.close()) << f.error();
    EXPECT_EQ(f.path(), "/nonexistent/out/x-HTTPBODY-001");
  }
  ::close(dir);
  std::ifstream in(d / "x-HTTPBODY-001");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "hi\n");
  fs::remove_all(d);
}

}  // namespace
}  // namespace tcpscribe
