#include "discard_peer.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace beamline::perf
{
namespace
{

constexpr std::string_view info_line =
    "INFO {\"server_id\":\"discard-peer\",\"server_name\":\"discard-peer\",\"version\":\"2.9.10\","
    "\"proto\":1,\"headers\":true,\"max_payload\":1048576}\r\n";

bool send_all(int fd, std::string_view bytes)
{
    while (!bytes.empty())
    {
        ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0)
        {
            if (errno == EINTR) continue;
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

/// The last space-separated token of a protocol line, as a number (a PUB's or HPUB's total size).
bool last_number(std::string_view line, std::size_t& out)
{
    auto space = line.rfind(' ');
    if (space == std::string_view::npos) return false;
    auto token = line.substr(space + 1);
    auto r = std::from_chars(token.data(), token.data() + token.size(), out);
    return r.ec == std::errc{} && r.ptr == token.data() + token.size();
}

} // namespace

discard_peer::discard_peer()
{
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (listener_ < 0) throw std::runtime_error("discard_peer: socket: " + std::string(std::strerror(errno)));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener_, 4) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    {
        ::close(listener_);
        throw std::runtime_error("discard_peer: bind/listen: " + std::string(std::strerror(errno)));
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
}

discard_peer::~discard_peer()
{
    stopping_.store(true);
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
}

void discard_peer::run()
{
    while (!stopping_.load())
    {
        pollfd p{listener_, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        int fd = ::accept(listener_, nullptr, nullptr);
        if (fd < 0) continue;
        int yes = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
        serve(fd);
        ::close(fd);
    }
}

void discard_peer::serve(int fd)
{
    if (!send_all(fd, info_line)) return;
    std::vector<char> buf(256 * 1024);
    std::string line;       // a protocol line split across reads
    std::size_t skip = 0;   // payload bytes (and their CRLF) still to pass over
    std::uint64_t frames = 0;
    for (;;)
    {
        ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        std::string_view in(buf.data(), static_cast<std::size_t>(n));
        while (!in.empty())
        {
            if (skip > 0)
            {
                std::size_t k = std::min(skip, in.size());
                in.remove_prefix(k);
                skip -= k;
                continue;
            }
            auto eol = in.find('\n');
            if (eol == std::string_view::npos)
            {
                line.append(in);
                break;
            }
            std::string_view l;
            if (line.empty())
                l = in.substr(0, eol + 1);
            else
                l = line.append(in.substr(0, eol + 1));
            in.remove_prefix(eol + 1);
            if (l.size() >= 2 && l[l.size() - 2] == '\r') l.remove_suffix(2);
            std::size_t total = 0;
            if ((l.starts_with("PUB ") || l.starts_with("HPUB ")) && last_number(l, total))
            {
                skip = total + 2;
                ++frames;
            }
            else if (l == "PING")
            {
                // Everything before the PING is counted by the time its PONG is read.
                frames_.fetch_add(frames);
                frames = 0;
                if (!send_all(fd, "PONG\r\n")) return;
            }
            line.clear();
        }
    }
    frames_.fetch_add(frames);
}

} // namespace beamline::perf
