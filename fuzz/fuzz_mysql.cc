// The MySQL analyzer (MyFramer over both directions with 16 MiB
// continuation, greeting, handshake response, auth, command/answer state
// machines for result sets, prepared statements and binary values):
// fuzz_proto.h's properties (the same records, messages and findings
// whole, in pieces and byte by byte; bounded).
#include "fuzz_proto.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tcpscribe::fuzz::check_proto("mysql", 3306, data, size);
  return 0;
}
