// The one compiled copy of Beast and Asio for the whole project (BOOST_BEAST_SEPARATE_COMPILATION
// and BOOST_ASIO_SEPARATE_COMPILATION are set globally in the top CMakeLists.txt). No other file
// includes these. The SSL source is needed too, or ssl::context fails to link.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
