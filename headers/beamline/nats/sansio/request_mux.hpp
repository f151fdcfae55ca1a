#pragma once
// The request multiplexer: every request's reply comes to one wildcard inbox subscription,
// `_INBOX.<nuid>.*`, and the number after the prefix names the pending request it answers. Pure:
// the engine gives it the time (deadlines are absolute), performs the publishes and completes what
// this hands back; one engine timer waits for next_deadline(). Timeouts, no-responders and
// fail-fast on disconnect are decided here.
//
// `Pending` is whatever the engine completes (a completion handler; a plain value in unit tests).

#include "beamline/nats/error.hpp"
#include "beamline/nats/message.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

namespace beamline::nats::sansio
{

template <class Pending>
class request_mux
{
public:
    using clock = std::chrono::steady_clock;

    /// `inbox_prefix` ends with a dot: `_INBOX.<nuid>.`.
    explicit request_mux(std::string inbox_prefix) : prefix_(std::move(inbox_prefix)) {}

    const std::string& inbox_prefix() const noexcept { return prefix_; }
    /// The subject of the one subscription all replies come to.
    std::string inbox_subject() const { return prefix_ + "*"; }

    /// A fresh token and its reply subject (valid until the next call): publish the request with
    /// it, then add() it. A token is never reused, so a late reply can never meet a newer request.
    std::pair<std::uint64_t, std::string_view> next_reply_subject()
    {
        std::uint64_t token = ++last_token_;
        char digits[24];
        auto end = std::to_chars(digits, digits + sizeof digits, token).ptr;
        reply_.assign(prefix_).append(digits, end);
        return {token, reply_};
    }

    /// Registers the request published with `token`'s reply subject, to time out at `deadline`.
    void add(std::uint64_t token, Pending p, clock::time_point deadline)
    {
        pending_.emplace(token, entry{std::move(p), deadline});
        deadlines_.push_back({deadline, token});
        std::push_heap(deadlines_.begin(), deadlines_.end(), later);
        if (deadlines_.size() > 2 * pending_.size() + 1024) compact();
    }

    /// A message on the inbox. Returns the request it answers with its outcome (empty error: the
    /// reply; no_responders: a 503 status with no payload), or nothing when it answers no pending
    /// request (not ours, or it timed out already).
    std::optional<std::pair<Pending, std::error_code>> on_reply(const message_view& v)
    {
        if (v.subject.size() <= prefix_.size() || v.subject.substr(0, prefix_.size()) != prefix_) return std::nullopt;
        auto text = v.subject.substr(prefix_.size());
        std::uint64_t token = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), token);
        if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
        auto it = pending_.find(token);
        if (it == pending_.end()) return std::nullopt;
        Pending p = std::move(it->second.pending);
        pending_.erase(it);
        std::error_code outcome;
        if (v.status() == 503 && v.payload.empty()) outcome = errc::no_responders;
        return std::pair<Pending, std::error_code>{std::move(p), outcome};
    }

    /// Hands every request whose deadline is at or before `now` to `timed_out(Pending&&)`, earliest
    /// first, and forgets it.
    template <class F>
    void expire(clock::time_point now, F&& timed_out)
    {
        while (!deadlines_.empty() && deadlines_.front().first <= now)
        {
            std::uint64_t token = deadlines_.front().second;
            std::pop_heap(deadlines_.begin(), deadlines_.end(), later);
            deadlines_.pop_back();
            auto it = pending_.find(token);
            if (it == pending_.end()) continue; // answered meanwhile
            Pending p = std::move(it->second.pending);
            pending_.erase(it);
            timed_out(std::move(p));
        }
    }

    /// The earliest deadline still pending, if any (a stale one of an answered request is dropped).
    std::optional<clock::time_point> next_deadline()
    {
        while (!deadlines_.empty() && !pending_.contains(deadlines_.front().second))
        {
            std::pop_heap(deadlines_.begin(), deadlines_.end(), later);
            deadlines_.pop_back();
        }
        if (deadlines_.empty()) return std::nullopt;
        return deadlines_.front().first;
    }

    /// The connection is gone (or closed): hands every pending request to `failed(Pending&&)`.
    template <class F>
    void fail_all(F&& failed)
    {
        auto all = std::move(pending_);
        pending_.clear();
        deadlines_.clear();
        for (auto& [token, e] : all)
            failed(std::move(e.pending));
    }

    std::size_t size() const noexcept { return pending_.size(); }
    bool empty() const noexcept { return pending_.empty(); }
    /// Deadlines kept, answered ones included: at most twice the most pending at an add() plus 1024.
    std::size_t deadlines_held() const noexcept { return deadlines_.size(); }

private:
    struct entry
    {
        Pending pending;
        clock::time_point deadline;
    };
    using deadline_entry = std::pair<clock::time_point, std::uint64_t>;
    static bool later(const deadline_entry& a, const deadline_entry& b) noexcept { return a.first > b.first; }

    /// Answered requests leave their deadline behind (removing it from the heap would cost a
    /// search); when those outnumber the pending ones, the heap is rebuilt from what is pending.
    void compact()
    {
        deadlines_.clear();
        for (const auto& [token, e] : pending_)
            deadlines_.push_back({e.deadline, token});
        std::make_heap(deadlines_.begin(), deadlines_.end(), later);
    }

    std::string prefix_;
    std::string reply_;
    std::uint64_t last_token_ = 0;
    /// Keyed by the number that ends the reply subject: no string built or hashed per request.
    std::unordered_map<std::uint64_t, entry> pending_;
    std::vector<deadline_entry> deadlines_; ///< a min-heap of (deadline, token)
};

} // namespace beamline::nats::sansio
