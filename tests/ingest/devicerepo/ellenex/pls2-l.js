// Ellenex PLS2-L, written for placehub's tests from Ellenex's published format: 8 bytes on
// fPort 15, the reading a signed 16-bit value at bytes 3-4, battery in 0.1 V at byte 7.
function decodeUplink(input) {
  var b = input.bytes;
  if (input.fPort !== 15) { return {errors: ['Unknown FPort: please use fPort 15']}; }
  if (b.length !== 8) { return {errors: ['Invalid uplink payload: length is not 8 byte']}; }
  var v = (b[3] << 8) | b[4];
  return {data: {level: v & 0x8000 ? v - 0x10000 : v, batteryVoltage: b[7] / 10}};
}
