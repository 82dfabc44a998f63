// The Redis analyzer (RespParser over both directions, pairing, pushes,
// redaction): fuzz_proto.h's properties (the same records, messages and
// findings whole, in pieces and byte by byte; bounded).
#include "fuzz_proto.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tcpscribe::fuzz::check_proto("redis", 6379, data, size);
  return 0;
}
