#!/bin/bash
# Gatehouse .deb post-remove (electron-builder.yml deb.afterRemove). Replaces electron-builder's
# default (app-builder-lib templates/linux/after-remove.tpl, 26.x), whose steps come first; then the
# udev rules go. The dollar-brace macros are electron-builder's; shell variables have no braces.

if type update-alternatives >/dev/null 2>&1; then
    update-alternatives --remove '${executable}' '/opt/${sanitizedProductName}/${executable}'
else
    rm -f '/usr/bin/${executable}'
fi

APPARMOR_PROFILE_DEST='/etc/apparmor.d/${executable}'
if [ -f "$APPARMOR_PROFILE_DEST" ]; then
  if apparmor_status --enabled > /dev/null 2>&1; then
    if ! { [ -x '/usr/bin/ischroot' ] && /usr/bin/ischroot; } && hash apparmor_parser 2>/dev/null; then
      apparmor_parser --remove "$APPARMOR_PROFILE_DEST" || true
    fi
  fi
  rm -f "$APPARMOR_PROFILE_DEST"
fi

# --- Gatehouse: udev rules (on an upgrade the new version's after-install puts them back) ---
rm -f /etc/udev/rules.d/70-gatehouse.rules
if ! { [ -x '/usr/bin/ischroot' ] && /usr/bin/ischroot; } && hash udevadm 2>/dev/null; then
  udevadm control --reload-rules || true
fi
