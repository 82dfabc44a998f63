#include "console_writer.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace tcpscribe {

struct ConsoleWriter::State {
  int fd = -1;
  size_t budget = 0;
  std::function<std::string(uint64_t, uint64_t)> lost_line;
  mutable std::mutex mu;
  std::condition_variable wake;      // records queued, or stop
  std::condition_variable drained;   // the queue became empty
  std::deque<std::string> queue;
  size_t queued_bytes = 0;
  bool writing = false;              // the thread holds a batch it is writing
  uint64_t in_flight = 0, in_flight_bytes = 0;  // records of that batch not yet written
  bool stop = false;
  bool broken = false;
  uint64_t pending_lost_records = 0, pending_lost_bytes = 0;  // not yet announced
  uint64_t lost_records = 0, lost_bytes = 0;                  // in all
};

ConsoleWriter::ConsoleWriter(int fd, size_t budget,
                             std::function<std::string(uint64_t, uint64_t)> lost_line)
    : st_(std::make_shared<State>()) {
  st_->fd = fd;
  st_->budget = budget;
  st_->lost_line = std::move(lost_line);
}

ConsoleWriter::~ConsoleWriter() { finish(2.0); }

void ConsoleWriter::start() {
  started_ = true;
  // The thread takes no signal: SIGINT/SIGTERM belong to the event loop's
  // signalfd, whatever the caller's mask is at this moment.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  thread_ = std::thread(run, st_);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

bool ConsoleWriter::push(std::string record) {
  if (finished_) return false;
  if (!started_) start();
  std::lock_guard<std::mutex> lock(st_->mu);
  if (st_->broken) return false;
  std::string note;
  if (st_->pending_lost_records > 0) {
    note = st_->lost_line(st_->pending_lost_records, st_->pending_lost_bytes);
  }
  if (st_->queued_bytes + note.size() + record.size() > st_->budget) {
    ++st_->pending_lost_records;
    st_->pending_lost_bytes += record.size();
    ++st_->lost_records;
    st_->lost_bytes += record.size();
    return false;
  }
  if (!note.empty()) {
    st_->pending_lost_records = st_->pending_lost_bytes = 0;
    st_->queued_bytes += note.size();
    st_->queue.push_back(std::move(note));
  }
  st_->queued_bytes += record.size();
  st_->queue.push_back(std::move(record));
  st_->wake.notify_one();
  return true;
}

void ConsoleWriter::run(std::shared_ptr<State> st) {
  std::deque<std::string> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(st->mu);
      st->writing = false;
      if (st->queue.empty()) st->drained.notify_all();
      st->wake.wait(lock, [&] { return st->stop || !st->queue.empty(); });
      if (st->queue.empty()) return;  // stop, and nothing left
      batch.swap(st->queue);
      st->writing = true;
      st->in_flight = batch.size();
      st->in_flight_bytes = st->queued_bytes;
    }
    bool failed = false;
    for (const std::string& s : batch) {
      size_t done = 0;
      while (!failed && done < s.size()) {
        const ssize_t n = ::write(st->fd, s.data() + done, s.size() - done);
        if (n < 0) {
          if (errno == EINTR) continue;
          if (errno == EAGAIN) {  // a non-blocking descriptor: wait for room
            pollfd p{st->fd, POLLOUT, 0};
            ::poll(&p, 1, 1000);
            continue;
          }
          failed = true;  // the reader went away (EPIPE), a full disk
          break;
        }
        done += static_cast<size_t>(n);
      }
      if (failed) break;
      std::lock_guard<std::mutex> lock(st->mu);
      st->queued_bytes -= std::min<size_t>(st->queued_bytes, s.size());
      --st->in_flight;
      st->in_flight_bytes -= std::min<uint64_t>(st->in_flight_bytes, s.size());
    }
    std::lock_guard<std::mutex> lock(st->mu);
    batch.clear();
    if (failed) {
      st->broken = true;
      st->queue.clear();
      st->queued_bytes = 0;
      st->writing = false;
      st->drained.notify_all();
      return;
    }
  }
}

uint64_t ConsoleWriter::finish(double seconds) {
  if (finished_) return records_lost();
  finished_ = true;
  if (!started_) return records_lost();
  bool done;
  {
    std::unique_lock<std::mutex> lock(st_->mu);
    done = st_->drained.wait_for(
        lock, std::chrono::duration<double>(seconds),
        [&] { return st_->broken || (st_->queue.empty() && !st_->writing); });
    st_->stop = true;
    if (!done) {
      // Still blocked in write(): what is queued, and the rest of the batch
      // being written, will not be shown.
      st_->lost_records += st_->in_flight;
      st_->lost_bytes += st_->in_flight_bytes;
      for (const std::string& s : st_->queue) {
        ++st_->lost_records;
        st_->lost_bytes += s.size();
      }
      st_->queue.clear();
    }
    st_->wake.notify_one();
  }
  if (done) {
    thread_.join();
  } else {
    thread_.detach();  // blocked on a reader that never reads; exit ends it
  }
  return records_lost();
}

uint64_t ConsoleWriter::records_lost() const {
  std::lock_guard<std::mutex> lock(st_->mu);
  return st_->lost_records;
}

uint64_t ConsoleWriter::bytes_lost() const {
  std::lock_guard<std::mutex> lock(st_->mu);
  return st_->lost_bytes;
}

bool ConsoleWriter::broken() const {
  std::lock_guard<std::mutex> lock(st_->mu);
  return st_->broken;
}

}  // namespace tcpscribe
