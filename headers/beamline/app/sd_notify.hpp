#pragma once
// Service readiness for systemd's Type=notify, without libsystemd: one datagram per state change
// to the AF_UNIX socket systemd names in $NOTIFY_SOCKET (a path, or an abstract name written with a
// leading '@'). Outside systemd the variable is unset and every notification is a no-op.
//
// States the daemon sends (sd_notify(3)): READY=1 once it serves, RELOADING=1 then READY=1 around a
// SIGHUP reload, STOPPING=1 when it starts to drain; STATUS=<text> is shown by `systemctl status`.

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace beamline::app
{

enum class notify_errc
{
    unsupported_address = 1, ///< neither an absolute path nor an @abstract name (e.g. vsock:, of newer systemd)
    address_too_long,        ///< longer than sockaddr_un can hold
};

const std::error_category& notify_category() noexcept;
inline std::error_code make_error_code(notify_errc e) noexcept { return {static_cast<int>(e), notify_category()}; }

class service_notifier
{
public:
    /// `socket` is the value of NOTIFY_SOCKET; empty disables notification.
    explicit service_notifier(std::string socket) : socket_(std::move(socket)) {}
    /// From the process environment's NOTIFY_SOCKET.
    static service_notifier from_environment();

    bool enabled() const noexcept { return !socket_.empty(); }
    const std::string& socket() const noexcept { return socket_; }

    /// Sends `state` ("KEY=value" lines) as one datagram. Disabled: does nothing and succeeds.
    /// A bad address is a notify_errc; a failed send is the system's errno.
    std::error_code notify(std::string_view state) const;

    std::error_code ready(std::string_view status = {}) const;
    /// RELOADING=1 with the CLOCK_MONOTONIC time systemd (253+, Type=notify-reload) asks for.
    std::error_code reloading() const;
    std::error_code stopping() const;

private:
    std::string socket_;
};

/// CLOCK_MONOTONIC in microseconds, as systemd's MONOTONIC_USEC= wants it.
std::uint64_t monotonic_usec() noexcept;

} // namespace beamline::app

template <>
struct std::is_error_code_enum<beamline::app::notify_errc> : std::true_type
{
};
