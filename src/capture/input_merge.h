// Several capture files read as one capture, merged by timestamp (what
// mergecap does before reading).
//
// Files rotated by tcpdump -C come back from a shell glob in the wrong order
// (cap cap1 cap10 cap11 cap2 ...), and captures taken side by side on two
// interfaces overlap in time; read one after the other, the later bytes of
// a connection would arrive before the earlier ones and become holes. The
// merge always hands on the earliest of the files' next packets; equal
// timestamps go in command-line order, and each file keeps its own order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <queue>
#include <vector>

#include "tcpscribe/packet.h"

namespace tcpscribe {

class InputMerge {
 public:
  enum class Status {
    kPacket,     ///< `out` holds the next packet; out.source says whose
    kSourceEnd,  ///< source `index` has no more packets (close it now)
    kError,      ///< source `index` failed (its error()); the others go on
    kEnd,        ///< every source is done
  };

  /// `sources[i]` is input i (null: it could not be opened, skipped). The
  /// sources must outlive the merge, or be closed once reported ended.
  explicit InputMerge(std::vector<PacketSource*> sources);

  /// The next event. A packet's data stays valid until the next call.
  /// Nothing is read before the first call (standard input may block).
  Status next(RawPacket& out, size_t& index);

 private:
  struct Head {
    Timestamp ts;
    uint32_t index;
  };
  struct Later {
    bool operator()(const Head& a, const Head& b) const {
      return a.ts != b.ts ? a.ts > b.ts : a.index > b.index;
    }
  };
  struct Event {
    Status status;
    size_t index;
  };

  /// Reads source i's next packet into pending_[i], or queues its end.
  void fetch(size_t i);

  std::vector<PacketSource*> sources_;
  std::vector<RawPacket> pending_;
  std::priority_queue<Head, std::vector<Head>, Later> heap_;
  std::queue<Event> events_;
  bool primed_ = false;
  /// The source of the packet handed on last: it is read again next.
  size_t advance_ = SIZE_MAX;
};

}  // namespace tcpscribe
