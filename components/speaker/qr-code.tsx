"use client";

import QRCode from "qrcode";
import { useEffect, useState } from "react";

/** The join link as a QR code image (a data: URL, allowed by the CSP). */
export function QrCode({ value, size = 224, label }: { value: string; size?: number; label: string }) {
  const [image, setImage] = useState<{ value: string; src: string }>();

  useEffect(() => {
    let cancelled = false;
    QRCode.toDataURL(value, { errorCorrectionLevel: "M", margin: 1, width: size * 2, color: { dark: "#0f172a", light: "#ffffff" } })
      .then((src) => {
        if (!cancelled) setImage({ value, src });
      })
      .catch(() => undefined);
    return () => {
      cancelled = true;
    };
  }, [value, size]);

  const src = image?.value === value ? image.src : undefined;
  return (
    <div className="grid place-items-center rounded-xl bg-white p-2 ring-1 ring-slate-200" style={{ width: size + 16, height: size + 16 }}>
      {src ? (
        // A data: URL rendered once; next/image would add nothing here.
        // eslint-disable-next-line @next/next/no-img-element
        <img src={src} width={size} height={size} alt={label} data-testid="qr-code" />
      ) : (
        <span className="text-sm text-slate-400">QR code…</span>
      )}
    </div>
  );
}
