// `tcpscribe proxy`: the inline recording proxy.
//
// A single-threaded epoll loop with non-blocking sockets. Each accepted
// client gets an upstream connection; bytes are ferried both ways, and each
// chunk (what one read() returned) is logged and shown before it is
// forwarded. Logging, console and forwarding happen in one thread, so their
// order is the order things happened and no record is ever interleaved.
//
// Flow control: a direction reads at most --buffer bytes at a time and
// stops reading while any of them wait for the other side to accept them,
// so a slow reader pushes back on the fast writer through TCP instead of
// growing memory (at most 2 x --buffer per connection, allocated only when
// a write falls behind).
#pragma once

namespace tcpscribe {

/// Entry point of `tcpscribe proxy ...` (argv[0] is "proxy"). Returns the
/// exit status: 0 ok, 1 usage, 2 --inspect found a damaged log, 3 logs or
/// another output could not be written, 4 cannot listen or resolve the
/// upstream.
int run_proxy(int argc, char** argv);

}  // namespace tcpscribe
