#include "input_merge.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace tcpscribe {
namespace {

/// Packets whose one data byte is their tag; the data pointer is only
/// valid until the next call (as with real files: the merge must not read
/// a source again before its packet has been used).
class FakeSource : public PacketSource {
 public:
  FakeSource(std::string name, std::vector<std::pair<Timestamp, uint8_t>> packets,
             bool fail_at_end = false)
      : name_(std::move(name)), packets_(std::move(packets)), fail_at_end_(fail_at_end) {}
  ReadStatus next(RawPacket& out) override {
    if (at_ == packets_.size()) {
      if (!fail_at_end_) return ReadStatus::kEnd;
      error_ = name_ + ": damaged";
      return ReadStatus::kError;
    }
    byte_ = packets_[at_].second;
    out = RawPacket{};
    out.ts = packets_[at_++].first;
    out.caplen = out.origlen = 1;
    out.data = &byte_;
    out.source = 99;  // the merge sets it
    return ReadStatus::kPacket;
  }
  const std::string& error() const override { return error_; }
  const std::string& name() const override { return name_; }

 private:
  std::string name_;
  std::vector<std::pair<Timestamp, uint8_t>> packets_;
  bool fail_at_end_;
  size_t at_ = 0;
  uint8_t byte_ = 0;
  std::string error_;
};

/// Runs the merge to the end: "tag@source" per packet, "end:i" and
/// "error:i" per event.
std::string run(std::vector<PacketSource*> sources) {
  InputMerge merge(std::move(sources));
  std::string log;
  RawPacket p;
  size_t i;
  for (;;) {
    const InputMerge::Status s = merge.next(p, i);
    if (s == InputMerge::Status::kEnd) break;
    if (!log.empty()) log += ' ';
    if (s == InputMerge::Status::kSourceEnd) {
      log += "end:" + std::to_string(i);
    } else if (s == InputMerge::Status::kError) {
      log += "error:" + std::to_string(i);
    } else {
      EXPECT_EQ(p.source, i);
      log += std::string(1, static_cast<char>(p.data[0])) + "@" + std::to_string(i);
    }
  }
  return log;
}

TEST(InputMerge, RotatedFilesGivenOutOfOrderComeBackInTimeOrder) {
  // tcpdump -C's cap, cap1, cap2 given as a glob sorts them: cap cap1 cap10 cap2.
  FakeSource cap("cap", {{1, 'a'}, {2, 'b'}});
  FakeSource cap1("cap1", {{3, 'c'}, {4, 'd'}});
  FakeSource cap10("cap10", {{7, 'g'}});
  FakeSource cap2("cap2", {{5, 'e'}, {6, 'f'}});
  EXPECT_EQ(run({&cap, &cap1, &cap10, &cap2}),
            "a@0 b@0 end:0 c@1 d@1 end:1 e@3 f@3 end:3 g@2 end:2");
}

TEST(InputMerge, OverlappingFilesInterleaveEqualTimesInCommandLineOrder) {
  FakeSource a("a", {{1, 'a'}, {3, 'c'}, {3, 'd'}, {5, 'f'}});
  FakeSource b("b", {{2, 'B'}, {3, 'C'}, {9, 'Z'}});
  EXPECT_EQ(run({&b, &a}), "a@1 B@0 C@0 c@1 d@1 f@1 end:1 Z@0 end:0");
}

TEST(InputMerge, KeepsEachFilesOwnOrder) {
  // A file out of time order itself is left to the reorder window.
  FakeSource a("a", {{5, 'x'}, {1, 'y'}});
  FakeSource b("b", {{3, 'z'}});
  EXPECT_EQ(run({&a, &b}), "z@1 end:1 x@0 y@0 end:0");
}

TEST(InputMerge, AFailingOrMissingFileDoesNotStopTheOthers) {
  FakeSource a("a", {{1, 'a'}, {4, 'd'}}, /*fail_at_end=*/true);
  FakeSource c("c", {{2, 'b'}, {6, 'f'}});
  EXPECT_EQ(run({&a, nullptr, &c}), "a@0 b@2 d@0 error:0 f@2 end:2");
  EXPECT_EQ(a.error(), "a: damaged");
}

TEST(InputMerge, NoSources) {
  EXPECT_EQ(run({}), "");
  EXPECT_EQ(run({nullptr}), "");
}

}  // namespace
}  // namespace tcpscribe
