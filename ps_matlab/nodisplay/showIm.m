function range = showIm(varargin)
% SHOWIM  Draw nothing (plenexp batch runs).
%
%   Put first on the path by plenexp/matlab.py so that textureSynthesis'
%   per-iteration display costs nothing; textureSynthesis does not use the
%   returned range. Returns an empty range.
  range = [];
end
