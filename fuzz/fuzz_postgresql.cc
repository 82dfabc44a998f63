// The PostgreSQL analyzer (PgFramer over both directions, startup, SSL
// answer, simple and extended query pairing, errors, COPY, cancel):
// fuzz_proto.h's properties (the same records, messages and findings
// whole, in pieces and byte by byte; bounded).
#include "fuzz_proto.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tcpscribe::fuzz::check_proto("postgresql", 5432, data, size);
  return 0;
}
