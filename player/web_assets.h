// asciinema-player's standalone script and style, built into the binary at build time from
// player/web/node_modules (see player/CMakeLists.txt). Static storage; valid for the process.
#ifndef PODTAPE_PLAYER_WEB_ASSETS_H_
#define PODTAPE_PLAYER_WEB_ASSETS_H_

#include <string_view>

namespace podtape::player {

std::string_view AsciinemaPlayerJs();       // dist/bundle/asciinema-player.min.js
std::string_view AsciinemaPlayerCss();      // dist/bundle/asciinema-player.css
std::string_view AsciinemaPlayerVersion();  // e.g. "3.18.0"

}  // namespace podtape::player

#endif  // PODTAPE_PLAYER_WEB_ASSETS_H_
