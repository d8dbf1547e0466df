#include "scanner/image/encrypted_volume.h"

#include <cstring>
#include <string_view>

namespace flscan::scanner::image {
namespace {

bool is_luks(ByteView sector) {
  constexpr std::string_view kMagic("LUKS\xba\xbe", 6);
  return sector.size() >= kMagic.size() && std::memcmp(sector.data(), kMagic.data(), kMagic.size()) == 0;
}

}  // namespace

UnlockResult unlock_encrypted_volume(TSK_IMG_INFO* img, std::uint64_t offset, std::uint64_t length,
                                     ByteView first_sector, const std::string& signature) {
  const VolumeKeys& keys = volume_keys();
  const bool luks = is_luks(first_sector);
  const bool have_keys = luks ? keys.has(KeyKind::luks_passphrase) : keys.has_bitlocker();
  if (!have_keys) {
    const char* options = luks ? "--luks-passphrase-file"
                               : "--bitlocker-recovery-password, --bitlocker-password or "
                                 "--bitlocker-key-file";
    return tl::make_unexpected(
        LockedVolume{NotScannedReason::encrypted_volume,
                     signature + ": its files cannot be read without the key (" + options + " FILE)"});
  }
  return luks ? unlock_luks(img, offset, length, signature) : unlock_bitlocker(img, offset, length, signature);
}

}  // namespace flscan::scanner::image
