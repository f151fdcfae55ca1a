#include "beamline/app/sd_notify.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace beamline::app
{
namespace
{

class notify_category_impl final : public std::error_category
{
public:
    const char* name() const noexcept override { return "sd_notify"; }
    std::string message(int ev) const override
    {
        switch (static_cast<notify_errc>(ev))
        {
        case notify_errc::unsupported_address:
            return "NOTIFY_SOCKET is neither an absolute path nor an abstract socket name (@...)";
        case notify_errc::address_too_long:
            return "NOTIFY_SOCKET is longer than a unix socket address can hold";
        }
        return "sd_notify error";
    }
};

} // namespace

const std::error_category& notify_category() noexcept
{
    static const notify_category_impl instance;
    return instance;
}

service_notifier service_notifier::from_environment()
{
    const char* value = std::getenv("NOTIFY_SOCKET");
    return service_notifier(value ? value : "");
}

std::error_code service_notifier::notify(std::string_view state) const
{
    if (socket_.empty()) return {};
    if (socket_.front() != '/' && socket_.front() != '@') return notify_errc::unsupported_address;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    // A path needs its terminating NUL inside sun_path; an abstract name is exactly its bytes
    // after a leading NUL (the '@' stands for it), and the address length says where it ends.
    const bool abstract = socket_.front() == '@';
    if (socket_.size() + (abstract ? 0 : 1) > sizeof address.sun_path) return notify_errc::address_too_long;
    std::memcpy(address.sun_path, socket_.data(), socket_.size());
    if (abstract) address.sun_path[0] = '\0';
    const auto length =
        static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_.size() + (abstract ? 0 : 1));

    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return {errno, std::system_category()};
    std::error_code result;
    ssize_t sent = 0;
    do
        sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&address),
                        length);
    while (sent < 0 && errno == EINTR);
    if (sent < 0) result = {errno, std::system_category()};
    ::close(fd);
    return result;
}

std::error_code service_notifier::ready(std::string_view status) const
{
    if (status.empty()) return notify("READY=1");
    return notify("READY=1\nSTATUS=" + std::string(status));
}

std::error_code service_notifier::reloading() const
{
    return notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec()));
}

std::error_code service_notifier::stopping() const
{
    return notify("STOPPING=1");
}

std::uint64_t monotonic_usec() noexcept
{
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000u + static_cast<std::uint64_t>(now.tv_nsec) / 1000u;
}

} // namespace beamline::app
