// SPDX-License-Identifier: GPL-2.0-or-later
// The restore's event stream: the parser (core/thin/thin_restore.cc) hands each element to a
// Sink in document order; Pipeline runs another sink on a worker thread so that building the pool
// overlaps parsing. Internal to core/thin.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/common/result.h"
#include "core/thin/thin_restore.h"

namespace pdsim::thin::detail {

// Where an element starts in the document: its byte offset (cheap to take for every element;
// turned into a line and column only for an error, by locate()).
struct Position {
  std::uint64_t byte = 0;
};

// What the parser hands on, element by element, in document order. A sink's error stops the
// parse; the Pipeline remembers the failing element's position.
class Sink {
 public:
  virtual ~Sink() = default;
  [[nodiscard]] virtual Status superblock(const XmlPool& fields, Position pos) = 0;  // devices empty
  [[nodiscard]] virtual Status begin_device(const XmlDevice& dev, Position pos) = 0;   // mappings empty
  [[nodiscard]] virtual Status mapping(const XmlMapping& m, Position pos) = 0;
  [[nodiscard]] virtual Status end_device(Position pos) = 0;
};

// Runs another sink on a worker thread, so that building the pool overlaps parsing (expat's
// tokenizer is most of restore's time). Events travel in batches through a small bounded queue
// and the worker applies them in document order, so the result is the same as running the inner
// sink directly. The first error from the worker is returned from the next call on this side,
// which stops the parse; close() drains the queue and returns the worker's verdict.
class Pipeline final : public Sink {
 public:
  explicit Pipeline(Sink& inner) : inner_(inner) { batch_.reserve(kBatch); }
  ~Pipeline() override { stop(); }
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  Status superblock(const XmlPool& fields, Position pos) override {
    fields_ = fields;
    return push(Event{Event::Kind::superblock, pos, {}, {}, {}});
  }
  Status begin_device(const XmlDevice& dev, Position pos) override {
    return push(Event{Event::Kind::begin_device, pos, dev.dev_id, dev.details, {}});
  }
  Status mapping(const XmlMapping& m, Position pos) override {
    return push(Event{Event::Kind::mapping, pos, 0, {}, m});
  }
  Status end_device(Position pos) override { return push(Event{Event::Kind::end_device, pos, 0, {}, {}}); }

  // Where the element the worker failed on starts (after close() returned its error).
  [[nodiscard]] std::optional<Position> failed_at() const { return failed_at_; }

  // Hands on what is left and waits for the worker; its first error, if any.
  [[nodiscard]] Status close() {
    if (!batch_.empty()) PDSIM_TRY(hand_off());
    {
      std::unique_lock lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
    if (error_) return std::move(*error_);
    return {};
  }

 private:
  static constexpr std::size_t kBatch = 4096;
  static constexpr std::size_t kDepth = 4;

  struct Event {
    enum class Kind : std::uint8_t { superblock, begin_device, mapping, end_device } kind;
    Position pos;
    std::uint64_t dev_id;
    DeviceDetails details;
    XmlMapping m;
  };

  Status push(Event e) {
    batch_.push_back(e);
    if (batch_.size() < kBatch) return {};
    return hand_off();
  }

  Status hand_off() {
    if (!worker_.joinable()) worker_ = std::thread([this] { run(); });
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return queue_.size() < kDepth || error_.has_value(); });
    if (error_) return *error_;
    queue_.push_back(std::move(batch_));
    lock.unlock();
    cv_.notify_all();
    batch_ = {};
    batch_.reserve(kBatch);
    return {};
  }

  void run() {
    for (;;) {
      std::vector<Event> events;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return !queue_.empty() || closed_; });
        if (queue_.empty()) return;
        events = std::move(queue_.front());
        queue_.pop_front();
      }
      cv_.notify_all();
      for (const Event& e : events) {
        Status s = apply(e);
        if (!s) {
          {
            std::unique_lock lock(mu_);
            error_ = std::move(s).error();
            failed_at_ = e.pos;
            queue_.clear();
          }
          cv_.notify_all();
          return;
        }
      }
    }
  }

  Status apply(const Event& e) {
    switch (e.kind) {
      case Event::Kind::superblock: return inner_.superblock(fields_, e.pos);
      case Event::Kind::begin_device: return inner_.begin_device(XmlDevice{e.dev_id, e.details, {}}, e.pos);
      case Event::Kind::mapping: return inner_.mapping(e.m, e.pos);
      case Event::Kind::end_device: return inner_.end_device(e.pos);
    }
    return Error::invalid("unknown restore event");
  }

  // Abandons the worker (after an error on the parsing side).
  void stop() {
    {
      std::unique_lock lock(mu_);
      queue_.clear();
      closed_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

  Sink& inner_;
  XmlPool fields_;  // written before the superblock event is queued, read by the worker after
  std::vector<Event> batch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<Event>> queue_;
  std::optional<Error> error_;
  std::optional<Position> failed_at_;
  bool closed_ = false;
  std::thread worker_;
};

}  // namespace pdsim::thin::detail
