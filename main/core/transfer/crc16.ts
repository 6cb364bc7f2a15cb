/** CRC-16/XMODEM (polynomial 0x1021, initial value 0), as XMODEM-CRC and YMODEM use it. */
const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
})();

export function crc16Xmodem(data: Uint8Array, start = 0, end = data.length): number {
  let crc = 0;
  for (let index = start; index < end; index++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ data[index]!) & 0xff]!;
  return crc;
}
