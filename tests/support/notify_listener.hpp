#pragma once
// The systemd side of sd_notify for tests: a datagram socket bound at a NOTIFY_SOCKET address (a
// path, or an abstract name written with a leading '@'), read one notification at a time.

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

namespace beamline::test
{

class notify_listener
{
public:
    explicit notify_listener(std::string name) : name_(std::move(name))
    {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        const bool abstract = !name_.empty() && name_.front() == '@';
        if (name_.size() + (abstract ? 0 : 1) > sizeof address.sun_path)
            throw std::runtime_error("socket name too long: " + name_);
        std::memcpy(address.sun_path, name_.data(), name_.size());
        if (abstract) address.sun_path[0] = '\0';
        const auto length =
            static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name_.size() + (abstract ? 0 : 1));
        if (::bind(fd_, reinterpret_cast<const sockaddr*>(&address), length) != 0)
            throw std::runtime_error("bind " + name_ + ": " + std::strerror(errno));
        // A bound, so a notifier that sent nothing fails the test instead of hanging it.
        timeval limit{10, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    }
    ~notify_listener() { ::close(fd_); }
    notify_listener(const notify_listener&) = delete;
    notify_listener& operator=(const notify_listener&) = delete;

    const std::string& name() const { return name_; }

    // The next notification; "<nothing received: ...>" after 10 s.
    std::string receive() const { return receive_with(0); }
    // A notification already queued, or "<nothing received: ...>" at once.
    std::string receive_queued() const { return receive_with(MSG_DONTWAIT); }

    // A fresh abstract name, unique to this process and call.
    static std::string unique_abstract_name(const std::string& what)
    {
        static int sequence = 0;
        return "@beamline-notify-test-" + std::to_string(::getpid()) + "-" + what + "-" + std::to_string(++sequence);
    }

private:
    std::string receive_with(int flags) const
    {
        char buffer[4096];
        const ssize_t n = ::recv(fd_, buffer, sizeof buffer, flags);
        if (n < 0) return "<nothing received: " + std::string(std::strerror(errno)) + ">";
        return {buffer, static_cast<std::size_t>(n)};
    }

    std::string name_;
    int fd_ = -1;
};

} // namespace beamline::test
