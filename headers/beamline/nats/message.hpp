#pragma once
// A received message. `message_view` points into the connection's read buffer and is valid only
// during the call it is passed to; `message` owns its bytes in one allocation.

#include "beamline/nats/protocol/headers.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace beamline::nats
{

struct message_view
{
    std::string_view subject;
    std::string_view reply;
    std::string_view header_block; ///< empty when the message has no headers
    std::string_view payload;

    /// First value of a header, without allocating.
    std::optional<std::string_view> header(std::string_view key) const noexcept
    {
        if (header_block.empty()) return std::nullopt;
        return find_header(header_block, key);
    }
    /// The status of the header line (503 no responders, 408, 404, ...), 0 if none.
    int status() const noexcept { return header_block.empty() ? 0 : header_status(header_block); }
};

class message
{
public:
    message() = default;
    explicit message(const message_view& v);

    std::string_view subject() const noexcept { return part(0, subject_len_); }
    std::string_view reply() const noexcept { return part(subject_len_, reply_len_); }
    std::string_view header_block() const noexcept { return part(subject_len_ + reply_len_, header_len_); }
    std::string_view payload() const noexcept
    {
        std::size_t off = subject_len_ + reply_len_ + header_len_;
        return part(off, data_.size() - off);
    }
    message_view view() const noexcept { return {subject(), reply(), header_block(), payload()}; }
    std::optional<std::string_view> header(std::string_view key) const noexcept { return view().header(key); }
    int status() const noexcept { return view().status(); }
    /// All headers, parsed (allocates); empty headers when the message has none or they are invalid.
    headers parsed_headers() const;

private:
    std::string_view part(std::size_t off, std::size_t len) const noexcept
    {
        return std::string_view(data_).substr(off, len);
    }

    std::string data_;
    std::uint32_t subject_len_ = 0;
    std::uint32_t reply_len_ = 0;
    std::uint32_t header_len_ = 0;
};

} // namespace beamline::nats
