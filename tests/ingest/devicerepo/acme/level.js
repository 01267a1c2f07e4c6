// A bin level sensor for placehub's tests: fPort 1, distance (mm, uint16), battery (mV, uint16),
// temperature (°C, int8), status byte (bit 0: lid open). Deliberately buggy on a few first
// bytes, as real codecs can be: 0xEE throws, 0xEF never returns, 0xF0 allocates without bound,
// 0xF1 returns a number instead of a decoding.
function decodeUplink(input) {
  var b = input.bytes;
  if (b[0] === 0xEE) { throw new Error('unexpected frame type ' + b[0]); }
  if (b[0] === 0xEF) { while (true) {} }
  if (b[0] === 0xF0) { var hoard = []; while (true) { hoard.push(new Array(65536).fill(b[1])); } }
  if (b[0] === 0xF1) { return 42; }
  if (input.fPort !== 1) { return {errors: ['unknown FPort ' + input.fPort]}; }
  if (b.length !== 6) { return {errors: ['payload must be 6 bytes']}; }
  var t = b[4] & 0x80 ? b[4] - 0x100 : b[4];
  return {data: {
    distance: {value: (b[0] << 8) | b[1], unit: 'mm'},
    battery_voltage: {value: (b[2] << 8) | b[3], unit: 'mV'},
    temperature: t,
    lid_open: (b[5] & 1) ? 'YES' : 'NO',
    status: b[5] >> 1
  }};
}
